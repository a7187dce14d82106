/**
 * The command-frame binding's JSON mapping on the poppo schema: proto3 JSON with the wire's
 * camelCase keys, `json_value_field` results, event names through `wire_name`.
 */
import { create } from "@bufbuild/protobuf";
import {
  EventName,
  ProjectAddResponseSchema,
  ProjectListResponseSchema,
  TaskListRequestSchema,
  WatchEventsResponseSchema,
  WorkerScaleRequestSchema,
} from "@protoipc/poppo-sdk";
import { Code, IpcError } from "@protoipc/runtime";
import { eventFromWire, eventToWire, messageFromWire, messageToWire } from "@protoipc/unix";
import { describe, expect, it } from "vitest";

describe("command-frame JSON on the poppo schema", () => {
  it("uses the wire's camelCase keys and leaves unset optional fields out", () => {
    const req = create(TaskListRequestSchema, { status: "failed", limit: 0 });
    // `limit` is optional: set to 0 it is sent; `offset` is unset and left out.
    expect(messageToWire(TaskListRequestSchema, req)).toEqual({ status: "failed", limit: 0 });
    const list = messageFromWire(ProjectListResponseSchema, {
      count: 1,
      projects: [{ id: "p", lastActivity: "2026-01-01", extra: true }],
      newerField: 1,
    });
    expect(list).toMatchObject({ count: 1, projects: [{ id: "p" }] });
    // A field the protocol leaves untyped is a google.protobuf.Value.
    expect(list.projects[0]?.lastActivity?.kind).toEqual({
      case: "stringValue",
      value: "2026-01-01",
    });
  });

  it("maps a json_value_field message to the whole result and back", () => {
    const r = messageFromWire(ProjectAddResponseSchema, { added: "/p", nested: [1, null] });
    expect(r).toMatchObject({ result: { added: "/p", nested: [1, null] } });
    expect(messageToWire(ProjectAddResponseSchema, r)).toEqual({ added: "/p", nested: [1, null] });
    expect(messageToWire(ProjectAddResponseSchema, create(ProjectAddResponseSchema))).toEqual({});
  });

  it("refuses JSON that does not fit, naming the type", () => {
    let err: unknown;
    try {
      messageFromWire(WorkerScaleRequestSchema, { count: "many" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpcError);
    expect((err as IpcError).code).toBe(Code.InvalidArgument);
    expect((err as IpcError).rawMessage).toMatch(/cannot read poppo.v1.WorkerScaleRequest/);
  });

  it("maps event names through wire_name; an unknown name is EVENT_NAME_UNSPECIFIED", () => {
    const known = eventFromWire(WatchEventsResponseSchema, {
      type: "event",
      event: "queue.status-changed",
      data: { paused: true },
      version: "1.0.0",
      timestamp: 1,
    });
    expect(known).toMatchObject({ event: EventName.QUEUE_STATUS_CHANGED, data: { paused: true } });
    const unknown = eventFromWire(WatchEventsResponseSchema, { event: "galaxy.exploded" });
    expect(unknown).toMatchObject({ event: EventName.UNSPECIFIED });
    const item = create(WatchEventsResponseSchema, {
      event: EventName.TASK_FAILED,
      data: { taskId: "t" },
    });
    expect(eventToWire(WatchEventsResponseSchema, item)).toEqual({
      event: "task.failed",
      data: { taskId: "t" },
    });
  });
});
