// The profitability rule (profitability.h): weigh native against generic work, counting an operation inside a loop
// as many times as the loop is likely to run it.
#include "specialize/profitability.h"

#include <algorithm>
#include <map>
#include <vector>

#include "deopt/refusals.h"

namespace pypaccel::specialize {

namespace {

// How much more an operation inside a loop counts than one outside, per level of nesting (capped): the ratio
// matters, not the number, as long as a loop's body outweighs what surrounds it.
constexpr long kLoopWeight = 8;
constexpr int kMaxDepth = 3;
// Compiled code is left to the interpreter when its generic work outweighs its native work this many times: the
// native part saves every interpreter dispatch around it too, and generic operations cost about what they cost in
// the interpreter, except where 3.11 specializes them (attributes of instances, list subscripts, method calls).
constexpr long kGenericPerNative = 2;
// What a direct call saves against the interpreter's call of the same function (Work `Call`), in native operations:
// CPython 3.11 does not inline a Python-to-Python call while a frame evaluation hook is installed, so each one
// allocates a frame, passes through the hook and starts a new evaluation loop (bench/README.md, session 12: the
// ray tracer's callers of small vector methods).
constexpr long kCallWeight = 4;
// What entering native code from the interpreter costs against interpreting the call, in native operations: the
// hook finds the specialization for the frame's arguments, sets up the native context and links the frame, about
// 25 ns over passing the frame on (a method called from a generator expression: 72-80 ns native, 45-55 ns
// interpreted with the hook installed, whatever the body). A loop-free function pays it on every call, so it must
// save more than that (a float operation saves about a float allocation, ~10 ns: four of them just pay). A direct
// call saves a whole interpreted call (a frame, the hook, an evaluation loop): code that makes one always pays.
// Direct entries, called from native code without the hook, do not pay the entry.
constexpr long kEntryWeight = 4;

// The loop depth of each block, from the back edges: a jump to a block that starts at or before the jumping
// block's own unit closes a loop over every block whose unit lies between the two.
std::vector<int> loopDepths(const ir::Function& fn) {
  // A successor's unit; an edge block (unit -1: the moves on one edge) stands for the block it jumps on to.
  auto unitOf = [&](int id) {
    for (int hops = 0; id >= 0 && hops < 4; hops++) {
      const ir::Block& b = fn.blocks[size_t(id)];
      if (b.unit >= 0) return b.unit;
      id = b.instrs.empty() ? -1 : b.instrs.back().succ[0];
    }
    return -1;
  };
  std::vector<std::pair<int, int>> loops;  // [header unit, last unit]
  for (const ir::Block& b : fn.blocks) {
    if (b.instrs.empty() || b.unit < 0) continue;
    for (int s : b.instrs.back().succ) {
      int target = s >= 0 ? unitOf(s) : -1;
      if (target >= 0 && target <= b.unit) loops.push_back({target, b.unit});
    }
  }
  std::vector<int> depth(fn.blocks.size(), 0);
  for (const ir::Block& b : fn.blocks)
    for (auto [first, last] : loops)
      if (b.unit >= first && b.unit <= last) depth[size_t(b.id)]++;
  return depth;
}

}  // namespace

WorkCount countWork(const ir::Function& fn) {
  WorkCount w;
  std::vector<int> depth = loopDepths(fn);
  for (int d : depth) w.loops |= d > 0;
  std::map<std::string, long> byOp;
  // Edge blocks (unit -1) belong to the loop of the block they come from: give them the deepest neighbour's depth
  // by ignoring them (they hold moves and reference counts, no work).
  for (const ir::Block& b : fn.blocks) {
    long weight = 1;
    for (int d = 0; d < std::min(depth[size_t(b.id)], kMaxDepth); d++) weight *= kLoopWeight;
    for (const ir::Instr& in : b.instrs) {
      switch (ir::opWork(in.op)) {
        case ir::OpWork::None: break;
        case ir::OpWork::Native: w.native += weight; break;
        case ir::OpWork::Call:
          w.native += kCallWeight * weight;
          w.calls++;
          break;
        case ir::OpWork::Overhead:
          w.native -= weight;
          w.overhead += weight;
          break;
        case ir::OpWork::Generic:
          w.generic += weight;
          byOp[ir::opName(in.op)] += weight;
          break;
      }
    }
  }
  std::vector<std::pair<long, std::string>> ranked;
  for (auto& [op, n] : byOp) ranked.push_back({n, op});
  std::sort(ranked.rbegin(), ranked.rend());
  for (size_t i = 0; i < ranked.size() && i < 3; i++)
    w.genericOps += (i ? ", " : "") + ranked[i].second + " " + std::to_string(ranked[i].first);
  return w;
}

std::string whyUnprofitable(const ir::Function& fn) {
  WorkCount w = countWork(fn);
  const char* why;
  if (w.generic > 0 && w.generic > kGenericPerNative * w.native) why = "mostly generic work";
  // No native work (none at all, or guards of predictions that take all of it back): what is left, the
  // interpreter's specialized instructions do as fast, and entering native code through the hook costs more than
  // interpreting a function this small (measured: a one-line __init__ ran 1.7x slower compiled).
  else if (w.native <= 0) why = "no native work left once its guards are counted";
  // Frame entries only (the caller does not ask for a direct entry's profitability).
  else if (!w.loops && !w.calls && w.native < kEntryWeight)
    why = "too little native work to pay for entering native code";
  else return "";
  return deopt::refusalText(deopt::Refusal::Unprofitable, {why, std::to_string(w.generic), std::to_string(w.native),
                                                           w.genericOps.empty() ? "none" : w.genericOps});
}

}  // namespace pypaccel::specialize
