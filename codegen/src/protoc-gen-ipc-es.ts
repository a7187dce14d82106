// Entry point of the protoc-gen-ipc-es executable (bin/protoc-gen-ipc-es.js runs it through
// tsx): reads a CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse to stdout.
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenIpcEs } from "./plugin.js";

runNodeJs(protocGenIpcEs);
