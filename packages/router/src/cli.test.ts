import { describe, expect, it } from "vitest";
import { runCli } from "./cli.js";

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("protoipc command line", () => {
  it("prints the usage on --help or -h, for the command and for `router`, and exits 0", async () => {
    for (const argv of [
      ["--help"],
      ["-h"],
      ["router", "--help"],
      ["router", "--bind", "x", "-h"],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(" ")).toBe(0);
      expect(r.out).toContain("protoipc router --bind ENDPOINT");
      expect(r.err).toBe("");
    }
  });

  it("answers a usage error with exit code 2 and says what is wrong", async () => {
    expect(await run([])).toMatchObject({ code: 2 });
    const unknown = await run(["route"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command route");
    const noBind = await run(["router", "--heartbeat-ms", "100"]);
    expect(noBind.code).toBe(2);
    expect(noBind.err).toContain("--bind is required");
    const badProtocol = await run(["router", "--bind", "tcp://127.0.0.1:*", "--protocol", "mqtt"]);
    expect(badProtocol).toMatchObject({ code: 2 });
    expect(badProtocol.err).toContain("--protocol mqtt is not native or hydra");
  });
});
