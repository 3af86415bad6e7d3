import { type CudaStatus, native } from "./native";

/** Whether this build has CUDA support and a usable device, and why not. */
export function cudaStatus(): CudaStatus {
  return native().cudaStatus();
}
