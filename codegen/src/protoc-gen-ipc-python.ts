// Entry point of the protoc-gen-ipc-python executable (bin/protoc-gen-ipc-python.js runs it
// through tsx): reads a CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse to stdout.
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenIpcPython } from "./python-plugin.js";

runNodeJs(protocGenIpcPython);
