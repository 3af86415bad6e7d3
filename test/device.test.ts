// Backend selection: auto uses CUDA only when a device really works and says why;
// DIEN_DEVICE overrides; an explicit "cuda" without a device is a clear error.
import { afterEach, describe, expect, it } from "vitest";

import { DienModel, cudaStatus, randomBatch } from "../lib";

const config = { itemVocab: 20, catVocab: 4, maxLen: 6 };

afterEach(() => {
  delete process.env.DIEN_DEVICE;
});

describe("device selection", () => {
  it("cudaStatus says whether CUDA is built and usable, and why not", () => {
    const s = cudaStatus();
    expect(typeof s.built).toBe("boolean");
    expect(typeof s.usable).toBe("boolean");
    expect(s.reason.length).toBeGreaterThan(0);
    if (!s.usable) expect(s.devices === 0 || s.reason.length > 0).toBe(true);
  });

  it("auto picks CUDA exactly when a device is usable, and info() gives the reason", async () => {
    using m = await DienModel.create(config, { device: "auto" });
    const info = m.info();
    expect(info.backend).toBe(cudaStatus().usable ? "cuda" : "cpu");
    expect(info.reason).toMatch(cudaStatus().usable ? /CUDA device/ : /using the CPU/);
    expect(await m.predict(randomBatch(m.config, 3))).toHaveLength(3);
  });

  it("DIEN_DEVICE=cpu overrides the requested device", async () => {
    process.env.DIEN_DEVICE = "cpu";
    using m = await DienModel.create(config, { device: "cuda" });
    expect(m.info().backend).toBe("cpu");
    expect(m.info().reason).toBe("DIEN_DEVICE=cpu");
  });

  it('"cuda" without a usable device rejects with the CUDA reason', async () => {
    if (cudaStatus().usable) return; // covered by the native CUDA parity tests on GPU machines
    const err = await DienModel.create(config, { device: "cuda" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DIEN_BAD_CONFIG" });
    expect((err as Error).message).toContain('device "cuda" requested but unavailable: ');
    expect((err as Error).message).toContain(cudaStatus().reason);
  });

  it("a bad DIEN_DEVICE is a DIEN_BAD_CONFIG naming the variable", async () => {
    process.env.DIEN_DEVICE = "gpu0";
    const err = await DienModel.create(config).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DIEN_BAD_CONFIG", message: 'DIEN_DEVICE: expected "auto", "cpu" or "cuda" but got "gpu0"' });
  });

  it("rejects an unknown device name", async () => {
    await expect(DienModel.create(config, { device: "tpu" as never })).rejects.toThrow('options.device: expected one of "auto", "cpu", "cuda" but got string "tpu"');
  });
});
