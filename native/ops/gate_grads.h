// Derivatives of the gate math in gates.h (docs/model.md §4, §6, §7), for the backward
// passes. Templated on the scalar so that the float training path and the float64
// path the gradient tests check against run the same formulas; __host__ __device__ so
// that a CUDA backward can reuse them.
//
// Every function takes the forward values it needs (saved by the forward pass) and the
// gradient arriving at its output, and returns the gradients of its inputs.
#pragma once

#include <cmath>

#include "gates.h"

namespace dien {

// The nonlinearities at the precision of S: float uses gates.h's vectorisable
// approximations (the inference numerics), double uses libm (the exact reference).
template <class S>
struct Act;
template <>
struct Act<float> {
  static DIEN_HD float sigmoid(float x) { return dien::sigmoid(x); }
  static DIEN_HD float tanh(float x) { return tanhApprox(x); }
  static DIEN_HD float exp(float x) { return expApprox(x); }
};
template <>
struct Act<double> {
  static DIEN_HD double sigmoid(double x) { return 1.0 / (1.0 + ::exp(-x)); }
  static DIEN_HD double tanh(double x) { return ::tanh(x); }
  static DIEN_HD double exp(double x) { return ::exp(x); }
};

// dy/dx of y = sigmoid(x) and y = tanh(x), written with y.
template <class S>
DIEN_HD S sigmoidGrad(S y) {
  return y * (S(1) - y);
}
template <class S>
DIEN_HD S tanhGrad(S y) {
  return S(1) - y * y;
}

// softplus(x) = log(1 + e^x), stable for any x: the BCE of docs/model.md §8-9 from a
// logit is softplus(l) - y l.
template <class S>
DIEN_HD S softplus(S x) {
  return x > S(0) ? x + ::log1p(::exp(-x)) : ::log1p(::exp(x));
}

// Gradients at the inputs of evolveState / gruState (gates.h) for one hidden element.
template <class S>
struct MixGrad {
  S dn, dz, dh, da;
};

template <class S>
DIEN_HD MixGrad<S> evolveStateGrad(Evolution kind, S a, S z, S n, S h, S dout) {
  switch (kind) {
    case Evolution::Augru: {  // u = a (1 - z); out = (1 - u) h + u n
      const S u = a * (S(1) - z);
      const S du = dout * (n - h);
      return {dout * u, -du * a, dout * (S(1) - u), du * (S(1) - z)};
    }
    case Evolution::AugruOrig: {  // zz = (1 - a) z; out = zz h + (1 - zz) n
      const S zz = (S(1) - a) * z;
      const S dzz = dout * (h - n);
      return {dout * (S(1) - zz), dzz * (S(1) - a), dout * zz, -dzz * z};
    }
    case Evolution::Agru:  // out = (1 - a) h + a n; z is not used
      return {dout * a, S(0), dout * (S(1) - a), dout * (n - h)};
    default:  // out = (1 - z) n + z h
      return {dout * (S(1) - z), dout * (h - n), dout * z, S(0)};
  }
}

// Pre-activation gradients of one hidden element of a GRU step, from dn and dz.
//   reset-after:  n = tanh(gi_n + r * gh_n); dGhN is the gradient at gh_n (= W_hn h + b_hn)
//   reset-before: n = tanh(gi_n + gh_n), gh_n = W_hn (r o h) + b_hn; dr comes later from
//                 W_hn^T dPreN, so dPreR is left to the caller (dGhN = dPreN).
template <class S>
struct GateGrad {
  S dPreR, dPreZ, dPreN, dGhN;
};

template <class S>
DIEN_HD GateGrad<S> gruGateGrad(GruCell cell, S r, S z, S n, S ghN, S dn, S dz) {
  const S dPreN = dn * tanhGrad(n);
  const S dPreZ = dz * sigmoidGrad(z);
  if (cell == GruCell::ResetAfter) {
    const S dr = dPreN * ghN;
    return {dr * sigmoidGrad(r), dPreZ, dPreN, dPreN * r};
  }
  return {S(0), dPreZ, dPreN, dPreN};
}

// Dice (docs/model.md §7) while training: y = x (alpha + p (1 - alpha)), p = sigmoid(xhat),
// xhat = (x - mean) * invStd with batch statistics. Returns dy/dx at fixed statistics
// (the part through p's batch statistics is added by the batch-norm backward from dXhat).
template <class S>
struct DiceGrad {
  S dx, dXhat, dAlpha;
};

template <class S>
DIEN_HD DiceGrad<S> diceGrad(S x, S p, S alpha, S dy) {
  return {dy * (alpha + p * (S(1) - alpha)), dy * x * (S(1) - alpha) * sigmoidGrad(p), dy * (S(1) - p) * x};
}

// PReLU: y = x >= 0 ? x : slope x.
template <class S>
struct PreluGrad {
  S dx, dSlope;
};

template <class S>
DIEN_HD PreluGrad<S> preluGrad(S x, S slope, S dy) {
  return x >= S(0) ? PreluGrad<S>{dy, S(0)} : PreluGrad<S>{dy * slope, dy * x};
}

}  // namespace dien
