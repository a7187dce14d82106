import { getOption } from "@bufbuild/protobuf";
import { enum_value } from "@protoipc/runtime/gen/protoipc/v1/options_pb.js";
import { Elem, ElemSchema } from "./gen/hydra/v1/hydra_pb.js";

/** The wire spelling of an elem (`Elem.START_SIMULATION` → `"start_simulation"`). */
export function elemWireName(elem: Elem): string {
  const value = ElemSchema.values.find((v) => v.number === elem);
  return value === undefined ? "" : getOption(value, enum_value).wireName;
}

/**
 * The elem a name maps onto: a wire name, or a name Hydra's client-side code uses for it
 * (PROTOCOLS.md §2: `update_config` → `Elem.SET_CONFIG`, `status_response` → `Elem.STATUS_UPDATE`,
 * `config_updated` → `Elem.CONFIG_UPDATE`, `decision_cycle_complete` → `Elem.PERFORMANCE_UPDATE`,
 * `game_over` → `Elem.GAME_STATE_UPDATE`, `error_occurred` → `Elem.ERROR`,
 * `client_connected` / `client_disconnected` → `Elem.STATUS`), from the schema's `wire_name` and
 * `wire_aliases` options; `undefined` when none.
 */
export function elemForClientName(name: string): Elem | undefined {
  for (const v of ElemSchema.values) {
    const opt = getOption(v, enum_value);
    if (opt.wireName === name || opt.wireAliases.includes(name)) return v.number as Elem;
  }
  return undefined;
}

export { Elem };
