/** The model config of docs/model.md §12, with the defaults of sections 5-10. */
import { describe, expectBoolean, expectInteger, expectObject, expectOneOf, invalidType } from "./validate";

export const MODEL_NAMES = ["base", "wide-deep", "pnn", "din", "gru-att", "dien-aigru", "dien-agru", "dien-augru", "dien"] as const;
export const GRU_CELLS = ["reset-after", "reset-before"] as const;
export const ATTENTIONS = ["mlp", "bilinear"] as const;
export const EVOLUTIONS = ["augru", "augru-orig", "agru", "aigru", "gru-att"] as const;
export const ACTIVATIONS = ["dice", "prelu", "relu"] as const;
export const AUX_NETS = ["mlp", "dot"] as const;

export type ModelName = (typeof MODEL_NAMES)[number];
export type GruCell = (typeof GRU_CELLS)[number];
export type AttentionKind = (typeof ATTENTIONS)[number];
export type Evolution = (typeof EVOLUTIONS)[number];
export type Activation = (typeof ACTIVATIONS)[number];
export type AuxNet = (typeof AUX_NETS)[number];

export interface ModelConfig {
  model: ModelName;
  itemVocab: number;
  catVocab: number;
  /** 0: the model has no user field. */
  userVocab: number;
  dItem: number;
  dCat: number;
  /** 0 exactly when userVocab is 0. */
  dUser: number;
  hidden: number;
  maxLen: number;
  gruCell: GruCell;
  attention: AttentionKind;
  attentionHidden: number[];
  evolution: Evolution;
  mlpHidden: number[];
  activation: Activation;
  mlpBn: boolean;
  auxNet: AuxNet;
  auxHidden: number[];
  auxAlpha: number;
  diceEps: number;
  bnEps: number;
}

/** What create() needs: the vocabularies, everything else optional. */
export type ConfigInput = Partial<ModelConfig> & Pick<ModelConfig, "itemVocab" | "catVocab">;

const FIXED_EVOLUTION: Partial<Record<ModelName, Evolution>> = {
  "gru-att": "gru-att",
  "dien-aigru": "aigru",
  "dien-agru": "agru",
  "dien-augru": "augru",
};

const KEYS: readonly (keyof ModelConfig)[] = [
  "model", "itemVocab", "catVocab", "userVocab", "dItem", "dCat", "dUser", "hidden", "maxLen", "gruCell", "attention",
  "attentionHidden", "evolution", "mlpHidden", "activation", "mlpBn", "auxNet", "auxHidden", "auxAlpha", "diceEps", "bnEps",
];

function sizes(field: string, value: unknown): number[] {
  if (!Array.isArray(value)) throw invalidType(field, "an array of integers", value);
  return value.map((v, i) => expectInteger(`${field}[${i}]`, v, 1, 65536));
}

function positive(field: string, value: unknown, allowZero: boolean): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalidType(field, "a finite number", value);
  if (allowZero ? value < 0 : value <= 0) throw new RangeError(`${field}: expected a number ${allowZero ? ">=" : ">"} 0 but got ${value}`);
  return value;
}

/** Fills defaults and checks every key's type and range; the native layer re-checks all of it. */
export function normalizeConfig(input: unknown): ModelConfig {
  const raw = expectObject("config", input);
  for (const key of Object.keys(raw))
    if (!(KEYS as readonly string[]).includes(key)) throw new RangeError(`config: unknown key ${JSON.stringify(key)}`);
  const model = expectOneOf("config.model", raw.model ?? "dien", MODEL_NAMES);
  if (raw.itemVocab === undefined) throw new TypeError("config.itemVocab: required (the item vocabulary size)");
  if (raw.catVocab === undefined) throw new TypeError("config.catVocab: required (the category vocabulary size)");
  const userVocab = expectInteger("config.userVocab", raw.userVocab ?? 0, 0, 2147483647);
  const dUser = expectInteger("config.dUser", raw.dUser ?? (userVocab > 0 ? 18 : 0), 0, 65536);
  if ((userVocab === 0) !== (dUser === 0))
    throw new RangeError(`config.dUser: dUser (${dUser}) and userVocab (${userVocab}) must both be 0 (no user field) or both be > 0`);
  const fixed = FIXED_EVOLUTION[model];
  const evolution = expectOneOf("config.evolution", raw.evolution ?? fixed ?? "augru", EVOLUTIONS);
  if (fixed !== undefined && evolution !== fixed)
    throw new RangeError(`config.evolution: model "${model}" requires evolution "${fixed}" but got ${describe(evolution)}`);
  const config: ModelConfig = {
    model,
    itemVocab: expectInteger("config.itemVocab", raw.itemVocab, 1, 2147483647),
    catVocab: expectInteger("config.catVocab", raw.catVocab, 1, 2147483647),
    userVocab,
    dItem: expectInteger("config.dItem", raw.dItem ?? 18, 1, 65536),
    dCat: expectInteger("config.dCat", raw.dCat ?? 18, 1, 65536),
    dUser,
    hidden: expectInteger("config.hidden", raw.hidden ?? 36, 1, 65536),
    maxLen: expectInteger("config.maxLen", raw.maxLen ?? 100, 1, 65536),
    gruCell: expectOneOf("config.gruCell", raw.gruCell ?? "reset-after", GRU_CELLS),
    attention: expectOneOf("config.attention", raw.attention ?? "mlp", ATTENTIONS),
    attentionHidden: sizes("config.attentionHidden", raw.attentionHidden ?? [80, 40]),
    evolution,
    mlpHidden: sizes("config.mlpHidden", raw.mlpHidden ?? [200, 80]),
    activation: expectOneOf("config.activation", raw.activation ?? "dice", ACTIVATIONS),
    mlpBn: expectBoolean("config.mlpBn", raw.mlpBn ?? false),
    auxNet: expectOneOf("config.auxNet", raw.auxNet ?? "mlp", AUX_NETS),
    auxHidden: sizes("config.auxHidden", raw.auxHidden ?? [100, 50]),
    auxAlpha: positive("config.auxAlpha", raw.auxAlpha ?? (model === "dien" ? 1 : 0), true),
    diceEps: positive("config.diceEps", raw.diceEps ?? 1e-8, false),
    bnEps: positive("config.bnEps", raw.bnEps ?? 1e-5, false),
  };
  return config;
}

/** The GRU models (docs/model.md §10): the ones with an extractor, attention and an aux net. */
export function hasGru(c: ModelConfig): boolean {
  return !["base", "wide-deep", "pnn", "din"].includes(c.model);
}

export function hasUserField(c: ModelConfig): boolean {
  return c.userVocab > 0;
}
