export * from "./framer.js";
