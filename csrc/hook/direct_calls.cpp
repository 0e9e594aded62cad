// Direct calls between compiled functions, the compiler's side: which callees qualify, the result type a call
// site expects, and resolving a site at run time (which may compile the callee's direct entry).
//
// A direct callee runs without an interpreter frame until it exits, so it must never run code that could look at
// frames (sys._getframe, tracebacks being printed, locals()): its native code may only compute on numbers, guard
// globals and call other direct callees. Everything else about it (exits, exceptions passing through, the
// recursion limit) is exact: an exit gets a frame then (hook.cpp, exitThroughNewFrame).
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "cache/learning.h"
#include "cpython/layout.h"
#include "deopt/refusals.h"
#include "hook/compile.h"
#include "hook/hook.h"
#include "runtime/helpers.h"
#include "specialize/builder.h"
#include "support/bail.h"

namespace pypaccel::hook {

using ir::Op;
using ir::Type;

namespace {

constexpr int kMaxDirectArgs = 64;
constexpr int kMaxInferDepth = 4;  // callees of callees... whose result types are inferred for one compile
constexpr size_t kMaxInlineInstrs = 80;  // a direct entry compiled into its callers: a few operations, no calls
thread_local int tInferDepth = 0;
// Set when an inference stopped at kMaxInferDepth: what was inferred above it holds for this compile only (a
// callee taken as not direct because it was too deep is direct when a shallower caller asks).
thread_local bool tInferCut = false;

// A positional-only shape the call site fills exactly: no defaults needed, nothing packed into *args/**kwargs.
bool simpleSignature(PyObject* func, const std::string& sig) {
  if (Py_TYPE(func) != &PyFunction_Type) return false;
  auto* co = reinterpret_cast<PyCodeObject*>(PyFunction_GET_CODE(func));
  return pypa_code_argcount(co) == int(sig.size()) && pypa_code_kwonlyargcount(co) == 0 &&
         !(pypa_code_flags(co) & (CO_VARARGS | CO_VARKEYWORDS)) && int(sig.size()) <= kMaxDirectArgs;
}

profile::CodeState* eligibleState(PyObject* func) {
  PyObject* code = PyFunction_GET_CODE(func);
  profile::CodeState* st = profile::stateFor(code);
  if (!st) return nullptr;
  if (!st->classified) {
    pauseThread();
    classify(*st, code);
    resumeThread();
  }
  return st->never.empty() ? st : nullptr;
}

Type joinReturns(const ir::Function& fn, Type none) {
  Type t = Type::Void;
  for (const ir::Block& b : fn.blocks)
    for (const ir::Instr& in : b.instrs)
      if (in.op == Op::ReturnNative) {
        Type r = Type(in.imm);
        t = t == Type::Void || t == r ? r : Type::Obj;
      }
  return t == Type::Void ? none : t;  // no native return (every path leaves): anything fits
}

}  // namespace

std::string whyNotDirect(const ir::Function& fn) {
  using deopt::Refusal;
  for (const ir::Block& b : fn.blocks)
    for (const ir::Instr& in : b.instrs) {
      // (A raise statement's exit is its uncommon path, not an instruction it cannot do: see handle_RAISE_VARARGS.)
      if (in.op == Op::Exit && fn.exits[in.exit].reason != int(deopt::Reason::RaiseStatement))
        return deopt::refusalText(Refusal::DirectUnsupported, {fn.exits[in.exit].detail});
      // ir_ops.def's Python column.
      switch (ir::opRunsPython(in.op)) {
        case ir::RunsPython::No: break;
        case ir::RunsPython::Yes: return deopt::refusalText(Refusal::DirectRunsPython, {ir::opName(in.op)});
        case ir::RunsPython::Frame: return deopt::refusalText(Refusal::DirectNeedsFrame, {ir::opName(in.op)});
      }
    }
  return "";
}

Type directReturnType(PyObject* func, const std::string& sig, const std::vector<PyObject*>& args) {
  if (!simpleSignature(func, sig)) return Type::Void;
  profile::CodeState* st = eligibleState(func);
  if (!st) return Type::Void;
  auto known = st->directReturn.find(sig);
  if (known != st->directReturn.end()) return known->second;
  auto assumed = st->directAssumed.find(sig);
  if (assumed != st->directAssumed.end()) {
    // A recursive call while this very signature is inferred.
    st->directAssumptionUsed = true;
    return assumed->second;
  }
  if (tInferDepth >= kMaxInferDepth) {
    tInferCut = true;
    return Type::Void;
  }
  auto info = specialize::readCodeInfo(PyFunction_GET_CODE(func));
  if (!info) {
    llvm::consumeError(info.takeError());
    return Type::Void;
  }
  auto bc = specialize::decode(reinterpret_cast<const uint8_t*>(info->bytes.data()), info->bytes.size(), info->lines);
  if (!bc) {
    llvm::consumeError(bc.takeError());
    return Type::Void;
  }
  // The options of the direct entry's own compile (hook/compile.cpp): the IR inferred here is the IR that entry
  // will have, so callers may compile it in (directInlineIR).
  // With what earlier runs learned: the instructions that kept exiting are generic in the entry (its cache key
  // says so, hook/compile.cpp), so here too.
  // With what earlier runs learned where that was read already: the instructions that kept exiting are generic in
  // the entry, so here too. (Not read here: reading runs Python code, which may let another thread run, and enter
  // the compiler, in the middle of this compile. hook/compile.cpp compiles this IR only under the same widening.)
  specialize::SpecOptions opts;
  opts.direct = true;
  if (st->profileRead) opts.widen = st->widen[cache::profileSignature(sig, true)];
  opts.stressExits = config().stressExits;
  opts.directReturn = directReturnType;
  opts.directExample = directResultExample;
  opts.directInline = directInlineIR;
  // The examples this first call site had: the entry's compile (obtainDirect) takes the same ones, so its IR is the
  // IR inferred here.
  auto samples = std::make_shared<specialize::Samples>();
  for (size_t i = 0; i < args.size(); i++) samples->setLocal(int(i), args[i]);
  st->directSamples[sig] = samples;
  opts.samples = samples;
  Type result = Type::Void;
  std::shared_ptr<const ir::Function> small;
  bool cutAbove = tInferCut;
  tInferCut = false;
  tInferDepth++;
  // Recursion: assume what its own calls return, infer, and accept the assumption when the inference agrees.
  for (Type assume : {Type::Int, Type::Float, Type::Obj}) {
    st->directAssumed[sig] = assume;
    st->directAssumptionUsed = false;
    auto fn = specialize::buildFunction(*info, *bc, sig, PyFunction_GET_GLOBALS(func), pypa_function_builtins(func),
                                        opts, "infer");
    if (!fn) {
      llvm::consumeError(fn.takeError());
      break;
    }
    // PYPACCEL_DUMP_IR=DIR: the inferred IR too (DIR/<qualname>.<signature>.infer.ir), with why it cannot be one.
    if (const char* dir = std::getenv("PYPACCEL_DUMP_IR"); dir && *dir)
      std::ofstream(std::string(dir) + "/" + info->qualname + "." + sig + ".infer.ir")
          << ir::print(*fn) << "# " << whyNotDirect(*fn) << "\n";
    if (!whyNotDirect(*fn).empty()) {
      // Perhaps only under this assumption (`bounce = self.trace(...)` taken as an int has no `.tint`): the next.
      if (st->directAssumptionUsed) continue;
      break;
    }
    result = joinReturns(*fn, assume);
    st->directIR[sig] = std::make_shared<const ir::Function>(*fn);
    st->directIRWiden[sig] = opts.widen;
    if (!st->directAssumptionUsed) {
      size_t n = 0;
      bool calls = false;
      for (const ir::Block& b : fn->blocks) {
        n += b.instrs.size();
        for (const ir::Instr& in : b.instrs) calls |= in.op == Op::CallDirect;
      }
      if (!calls && n <= kMaxInlineInstrs) small = std::make_shared<ir::Function>(std::move(*fn));
      break;
    }
    if (result == assume) break;
  }
  tInferDepth--;
  bool cut = tInferCut;
  tInferCut = cutAbove || cut;
  st->directAssumed.erase(sig);
  if (PyErr_Occurred()) PyErr_Clear();
  if (result == Type::Void) {
    st->directSamples.erase(sig);
    st->directIR.erase(sig);
    st->directIRWiden.erase(sig);
    // Not direct only because a callee was too deep to infer here: asked again from a shallower caller.
    if (cut) return result;
  }
  st->directReturn[sig] = result;
  if (small && result != Type::Void) st->directInline[sig] = std::move(small);
  return result;
}

PyObject* directResultExample(PyObject* func, const std::string& sig) {
  // The callee's examples stay until its entry is compiled (CodeState::directSamples), and its return's with them;
  // after that a stand-in of it (forgetDirectExamples).
  profile::CodeState* st = eligibleState(func);
  if (!st) return nullptr;
  auto it = st->directSamples.find(sig);
  if (it != st->directSamples.end() && it->second) return it->second->returned();
  auto kept = st->directReturned.find(sig);
  return kept == st->directReturned.end() ? nullptr : kept->second->returned();
}

void forgetDirectExamples(profile::CodeState& st, const std::string& sig) {
  auto it = st.directSamples.find(sig);
  if (it == st.directSamples.end()) return;
  if (it->second && it->second->returned() && !st.directReturned.count(sig)) {
    auto kept = std::make_shared<specialize::Samples>();
    kept->setReturned(kept->standIn(it->second->returned()));
    if (kept->returned()) st.directReturned[sig] = std::move(kept);
  }
  st.directSamples.erase(it);
}

std::shared_ptr<const ir::Function> directInlineIR(PyObject* func, const std::string& sig) {
  if (config().optLevel == 0) return nullptr;  // PYPACCEL_OPT=0: every call is a call (and no inliner runs)
  if (!simpleSignature(func, sig)) return nullptr;
  profile::CodeState* st = eligibleState(func);
  if (!st) return nullptr;
  auto it = st->directInline.find(sig);
  return it == st->directInline.end() ? nullptr : it->second;
}

}  // namespace pypaccel::hook

extern "C" int32_t pypa_rt_direct_resolve(pypaccel::runtime::NativeCtx* ctx, int32_t site, PyObject* callable) {
  return pypa_rt_direct_resolve_with(ctx, site, callable, nullptr, 0);
}

extern "C" int32_t pypa_rt_direct_resolve_with(pypaccel::runtime::NativeCtx* ctx, int32_t site, PyObject* callable,
                                               PyObject** args, int32_t n) {
  using namespace pypaccel;
  auto* spec = static_cast<deopt::Specialization*>(ctx->spec);
  if (site < 0 || size_t(site) + 2 >= spec->meta.slots.size()) return 0;
  const ir::Slot& sl = spec->meta.slots[site];
  int entries = ir::callSiteEntries(sl.kind);
  if (!entries || size_t(site) + size_t(ir::slotGroupWords(sl.kind)) >= spec->slotWords.size() ||
      !hook::simpleSignature(callable, sl.name) || hook::otherThreadCompiling(ctx->tstate))
    return 0;
  PyObject *et, *ev, *etb;
  PyErr_Fetch(&et, &ev, &etb);
  hook::pauseThread();  // what compiling runs (cache path lookups) is not hooked
  deopt::Specialization* callee = nullptr;
  if (profile::CodeState* st = hook::eligibleState(callable)) {
    // A callee no caller inferred yet (a subclass's method met at run time): this call's arguments are its
    // examples, kept until its entry is compiled (forgetDirectExamples).
    bool given = args && !st->directSamples.count(sl.name) && !st->findDirect(sl.name);
    if (given) {
      auto samples = std::make_shared<specialize::Samples>();
      for (int32_t i = 0; i < n; i++) samples->setLocal(int(i), args[i]);
      st->directSamples[sl.name] = std::move(samples);
    }
    callee = hook::obtainDirect(*st, sl.name, callable);
    // Declined: they would hold the program's objects for nothing.
    if (given && !callee) st->directSamples.erase(sl.name);
  }
  hook::resumeThread();
  if (PyErr_Occurred()) PyErr_Clear();
  PyErr_Restore(et, ev, etb);
  // A function with no direct entry (declined, or exited too often) is noted in an entry too, with a header
  // without one: a site that may call it through vectorcall (kDirectGeneric) then does so at once, rather than
  // resolving it again at every call (deltablue: 0.80x to 0.41x of plain CPython until this).
  static runtime::SpecHeader noDirectEntry{};
  runtime::SpecHeader* hdr = callee && callee->header.directEntry ? &callee->header : &noDirectEntry;
  // The site holds the function and its code: what it matches cannot die while native code calls it (the
  // callable is borrowed), and a code address cannot come back as another code object.
  PyObject* code = PyFunction_GET_CODE(callable);
  // The entry this callable has (its code was replaced, or its entry was cleared), else an empty one, else the
  // one whose turn it is (a polymorphic site's last word counts the turns).
  int64_t* words = &spec->slotWords[size_t(site)];
  int k = 0;
  while (k < entries && words[3 * k] != reinterpret_cast<int64_t>(callable)) k++;
  if (k == entries) {
    k = 0;
    while (k < entries && words[3 * k] != 0) k++;
  }
  if (k == entries) k = entries == 1 ? 0 : int(words[3 * entries]++ % entries);  // (only a PolyCallSite counts)
  auto* oldFunc = reinterpret_cast<PyObject*>(words[3 * k]);
  auto* oldCode = reinterpret_cast<PyObject*>(words[3 * k + 2]);
  Py_INCREF(callable);
  Py_INCREF(code);
  words[3 * k] = reinterpret_cast<int64_t>(callable);
  words[3 * k + 1] = reinterpret_cast<int64_t>(hdr);
  words[3 * k + 2] = reinterpret_cast<int64_t>(code);
  Py_XDECREF(oldFunc);
  Py_XDECREF(oldCode);
  return hdr == &noDirectEntry ? 0 : k + 1;
}
