// Compile-or-load: the cache is consulted before any IR is built; a hit links the stored object without running
// the optimizer or codegen. Every failure becomes a recorded fallback, never an exception for the program.
#include "hook/compile.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <set>

#include "cache/key.h"
#include "cache/learning.h"
#include "cache/registry.h"
#include "codegen/codegen.h"
#include "cpython/layout.h"
#include "deopt/reasons.h"
#include "deopt/refusals.h"
#include "hook/hook.h"
#include "jit/engine.h"
#include "specialize/builder.h"
#include "specialize/profitability.h"
#include "support/bail.h"

namespace pypaccel::hook {

namespace {

// Specializations per code object (Refusal::TooManySignatures), not counting those replaced by a wider one: each
// signature's widened instructions only grow, so those are bounded by its instructions.
constexpr size_t kMaxSignatures = 8;
// Past this, even the light pipeline takes seconds and hundreds of MB (see jit/engine.cpp): not worth it.
constexpr size_t kMaxSpillWords = 60000;

std::unique_ptr<jit::Engine>* gEngine = new std::unique_ptr<jit::Engine>();
std::string* gEngineError = new std::string();
double gCompileSeconds = 0;

jit::Engine* engine() {
  if (*gEngine) return gEngine->get();
  if (!gEngineError->empty()) return nullptr;
  jit::EngineOptions o;
  o.optLevel = config().optLevel;
  o.cpu = config().cpu;
  auto e = jit::Engine::Create(o);
  if (!e) {
    *gEngineError = "JIT unavailable: " + support::errorReason(e.takeError());
    // Without an engine nothing is compiled for the rest of the process: that must not pass unnoticed.
    note(*gEngineError + "; everything runs in the interpreter", PyExc_RuntimeWarning);
    return nullptr;
  }
  *gEngine = std::move(*e);
  return gEngine->get();
}

std::vector<int> loopHeaders(const specialize::Bytecode& bc) {
  std::vector<int> out;
  for (const auto& in : bc.instrs)
    if (specialize::isBackwardJump(in.op)) out.push_back(in.target);
  return out;
}

bool anyLoopReached(const ir::Function& fn, const specialize::Bytecode& bc) {
  for (int h : loopHeaders(bc))
    for (const auto& b : fn.blocks)
      if (b.unit == h) return true;
  return false;
}

// Stress-mode code exits where plain code would not: it is cached apart.
std::string identityOf(jit::Engine& e) {
  return e.buildIdentity() + (config().stressExits ? ";stress=1" : ";stress=0");
}

// Where a specialization runs: its code object, and the globals and builtins it is linked against.
struct Home {
  PyObject* code;
  PyObject* globals;
  PyObject* builtins;
  PypaFrame* frame = nullptr;  // the call being compiled (a frame entry's): its arguments are the samples
};

// Turns a linked object into a running specialization; null (with why) if it does not fit this process.
std::unique_ptr<deopt::Specialization> activate(jit::Engine& e, deopt::SpecMeta meta, const std::string& object,
                                                const Home& home, std::string* why) {
  auto s = std::make_unique<deopt::Specialization>();
  s->meta = std::move(meta);
  auto addr = e.link(object, s->meta.symbol);
  if (!addr) {
    *why = "link failed: " + support::errorReason(addr.takeError());
    return nullptr;
  }
  s->codeOwner = addr->owner;
  if (!deopt::linkSlots(*s, home.code, home.globals, home.builtins, why)) return nullptr;
  if (s->meta.direct) {
    s->header.directEntry = addr->address;
    s->header.variant = s->meta.variant;
  }
  else s->entry = reinterpret_cast<runtime::NativeEntry>(addr->address);
  return s;
}

}  // namespace

double compileSeconds() { return gCompileSeconds; }

std::string buildIdentity() {
  jit::Engine* e = engine();
  return e ? identityOf(*e) : std::string();
}

std::string currentBuildIdentity() { return *gEngine ? identityOf(**gEngine) : std::string(); }

namespace {

// Whether a frame entry compiled at the first call of code with loops (CompileWhy::Loops) is compiled as a probe
// instead (deopt::Specialization::probe): when the code does generic work the run may yet show how to predict
// (the types of what calls, attributes and subscripts give), which at a first call nothing has shown yet. Not where
// every function is compiled on purpose (threshold 0, PYPACCEL_COMPILE_ALL, stress exits: the test passes' reach).
bool probesAllowed() { return config().threshold > 0 && !config().compileAll && !config().stressExits; }

bool wantsProbe(const ir::Function& fn, bool unprofitable) {
  specialize::WorkCount w = specialize::countWork(fn);
  return unprofitable || w.generic * 4 > w.native;
}

// A probe's IR with its countdowns dropped: a first-call compile that is worth keeping as it is.
void dropProbes(ir::Function& fn) {
  for (ir::Block& b : fn.blocks)
    b.instrs.erase(std::remove_if(b.instrs.begin(), b.instrs.end(),
                                  [](const ir::Instr& in) { return in.op == ir::Op::ProbeLoop; }),
                   b.instrs.end());
}

// `resumeAt` >= 0: compiled again after a probe, from `home.frame` stopped at that loop header (obtainResumable).
// probeProfitable: that probe's IR was worth compiling as it was (Specialization::probeUnprofitable empty).
deopt::Specialization* obtain(profile::CodeState& st, const std::string& sig, const Home& home, CompileWhy why,
                              bool direct, int resumeAt = -1, bool probeProfitable = false) {
  auto t0 = std::chrono::steady_clock::now();
  struct Timer {
    std::chrono::steady_clock::time_point t0;
    double* own;
    ~Timer() {
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      gCompileSeconds += dt;
      *own += dt;
    }
  } timer{t0, &st.compileSeconds};
  auto fail = [&](const std::string& reason) -> deopt::Specialization* {
    // A direct entry that cannot be had leaves the frame entry of the same signature alone.
    if (direct) {
      st.directFailed[sig] = reason;
      st.fallback("not called directly: " + reason);
      return nullptr;
    }
    // Too many signatures is not this signature's doing: the next run may compile it. An unprofitable one is stored
    // as such: making the decision again means building the IR again, which cost a warm run of pyperformance's go
    // 111 ms (re's compiler and parser; bench/README.md, session 17). Under PYPACCEL_COMPILE_ALL or @specialize
    // the next run ignores it.
    std::optional<deopt::Refusal> refusal = deopt::refusalOf(reason);
    const char* state = refusal == deopt::Refusal::TooManySignatures ? ""
                        : refusal == deopt::Refusal::Unprofitable    ? "unprofitable"
                                                                     : "failed";
    st.failedSignatures[sig] = profile::Interpreted{reason, state, reason};
    st.fallback(reason);
    return nullptr;
  };
  size_t live = 0;
  for (const auto& s : st.specs) live += !s->retired;
  if (live >= kMaxSignatures)
    return fail(deopt::refusalText(deopt::Refusal::TooManySignatures, {std::to_string(kMaxSignatures), sig}));
  jit::Engine* e = engine();
  if (!e) {
    st.never = *gEngineError;  // reported once per function as "not compiled: ..."
    return nullptr;
  }
  PyObject* code = home.code;
  cache::ensureCodeHash(st);
  const std::set<int>& widen = st.widen[cache::profileSignature(sig, direct)];
  std::string key = cache::specializationKey(st.codeHash.empty() ? st.qualname : st.codeHash,
                                             sig + cache::widenSuffix(widen) + (direct ? "|d" : ""), identityOf(*e));
  std::string symbol = cache::keySymbol(key);

  // (1) The cache, before any IR is built.
  std::optional<cache::Entry> entry;
  // After a probe, what is stored under the key is that probe (or older code): compiled afresh from the frame.
  if (!st.codeHash.empty() && resumeAt < 0) entry = cache::lookUp(st.filename, key);
  if (entry) {
    deopt::SpecMeta meta;
    std::string whyNot;
    // What `cache verify` checks too; then the one check of the request itself (a direct entry's key differs).
    std::string damage = deopt::storedMetaProblem(entry->meta, symbol, sig, &meta);
    if (damage.empty() && meta.direct != direct)
      damage = meta.direct ? "metadata is a direct entry's, not a frame entry's"
                           : "metadata is a frame entry's, not a direct entry's";
    if (!damage.empty()) {
      cache::warnAbout(st.filename,
                       "damaged metadata for " + st.qualname + " (" + damage + "); it will be compiled again");
    } else if (auto s = activate(*e, std::move(meta), entry->object, home, &whyNot)) {
      s->fromCache = true;
      s->cacheKey = key;
      s->widened = widen;
      st.loaded++;
      if (direct) {
        forgetDirectExamples(st, sig);
        st.directIR.erase(sig);
        st.directIRWiden.erase(sig);
      }
      st.specs.push_back(std::move(s));
      return st.specs.back().get();
    }
    // A stored specialization that does not fit this process (a global changed type): compile afresh.
  }

  // (2) Compile. The key's symbol may already be linked here with other code (a stored specialization that no
  // longer fits, compiled against globals of other types): the new object gets a name of its own.
  for (int n = 1; e->isLinked(symbol); n++) symbol = cache::keySymbol(key) + "_" + std::to_string(n);
  auto info = specialize::readCodeInfo(code);
  if (!info) return fail(support::errorReason(info.takeError()));
  auto bc = specialize::decode(reinterpret_cast<const uint8_t*>(info->bytes.data()), info->bytes.size(), info->lines);
  if (!bc) return fail(support::errorReason(bc.takeError()));
  specialize::SpecOptions opts;
  opts.stressExits = config().stressExits;
  opts.widen = widen;
  opts.direct = direct;
  opts.directReturn = directReturnType;
  opts.directExample = directResultExample;
  opts.directInline = directInlineIR;
  if (direct) {
    auto kept = st.directSamples.find(sig);
    if (kept != st.directSamples.end()) opts.samples = kept->second;
  } else if (home.frame) {
    opts.samples = std::make_shared<specialize::Samples>();
    PyObject** args = pypa_frame_localsplus(home.frame);
    for (size_t i = 0; i < sig.size(); i++) opts.samples->setLocal(int(i), args[i]);
    if (resumeAt >= 0) {
      // Stopped at a loop header: what every local holds there is what the loop works on. (Not the stack: at a
      // header that is the loop's iterator, whose example GET_ITER derives from what it iterates, a list iterated
      // in place.)
      for (int l = int(sig.size()); l < info->nlocals; l++)
        if (args[l]) opts.samples->setLocal(l, args[l]);
    }
  }
  opts.resumeAt = resumeAt;
  // Probes are made at a first call only, and never for a compile that an earlier probe asked for.
  bool probing = !direct && resumeAt < 0 && why == CompileWhy::Loops && !st.probed.count(sig) &&
                 probesAllowed();
  opts.probe = probing;
  // A direct entry compiles the IR its callers were built against (directReturnType inferred it), when there is one.
  auto inferred = direct ? st.directIR.find(sig) : st.directIR.end();
  if (inferred != st.directIR.end() && st.directIRWiden[sig] != widen) inferred = st.directIR.end();
  auto fn = inferred != st.directIR.end()
                ? llvm::Expected<ir::Function>(ir::Function(*inferred->second))
                : specialize::buildFunction(*info, *bc, sig, home.globals, home.builtins, opts, symbol);
  if (fn && resumeAt >= 0 && probeProfitable && !config().compileAll &&
      !specialize::whyUnprofitable(*fn).empty()) {
    // The probe's own IR was worth compiling and this one is not (the examples of the header predicted less than
    // the first call's did): built again from the arguments alone, as the probe was, with the resume entry.
    opts.samples = std::make_shared<specialize::Samples>();
    PyObject** args = pypa_frame_localsplus(home.frame);
    for (size_t i = 0; i < sig.size(); i++) opts.samples->setLocal(int(i), args[i]);
    fn = specialize::buildFunction(*info, *bc, sig, home.globals, home.builtins, opts, symbol);
  }
  if (!fn) return fail(support::errorReason(fn.takeError()));
  fn->name = symbol;
  // PYPACCEL_DUMP_IR=DIR (jit/engine.cpp) also gets the typed IR of every compile, profitable or not
  // (DIR/<qualname>.<signature>[.d].ir).
  if (const char* dir = std::getenv("PYPACCEL_DUMP_IR"); dir && *dir)
    std::ofstream(std::string(dir) + "/" + info->qualname + "." + sig + (direct ? ".d" : "") + ".ir") << ir::print(*fn);
  bool probe = false;
  std::string unprofitable;
  if (direct) {
    std::string impure = whyNotDirect(*fn);
    if (!impure.empty()) return fail(impure);
  } else if (why != CompileWhy::Forced && !config().compileAll) {
    // Not for @specialize (the user asked for native code) nor for a direct entry (called without the hook, and
    // made only of native operations).
    unprofitable = specialize::whyUnprofitable(*fn);
    // A first call's compile the run may improve on is kept as a probe, however generic: it runs a few hundred
    // iterations, then the code is compiled again with what they showed (obtainResumable).
    probe = probing && anyLoopReached(*fn, *bc) && wantsProbe(*fn, !unprofitable.empty());
    if (!unprofitable.empty() && !probe) return fail(unprofitable);
  }
  if (probing && !probe) dropProbes(*fn);
  if (probe) st.probed.insert(sig);
  if (why == CompileWhy::Loops && !anyLoopReached(*fn, *bc)) {
    // The loops are behind something the compiler cannot do yet: not worth compiling at the first call.
    st.deferred[sig] = true;
    st.fallback("no loop reachable in native code; waiting for the call threshold");
    return nullptr;
  }
  // A context per compile: a shared one would keep every constant and type of every compiled function forever.
  llvm::LLVMContext llctx;
  auto mod = codegen::lowerFunction(*fn, llctx);
  if (!mod) return fail(support::errorReason(mod.takeError()));
  size_t spillWords = 0;
  for (const auto& x : fn->exits) spillWords += size_t(deopt::exitBufferWords(x));
  if (spillWords > kMaxSpillWords)
    return fail("too large to compile (its exits spill " + std::to_string(spillWords) + " words)");
  // A probe runs a few hundred iterations: the cheapest code generation does (jit::Engine::compile's quick).
  auto obj = e->compile(**mod, spillWords, anyLoopReached(*fn, *bc), [&](llvm::Module& m) {
    if (llvm::Function* f = direct ? m.getFunction(symbol) : nullptr) codegen::splitFrameFreeFront(*f);
  }, probe);
  if (!obj) return fail(support::errorReason(obj.takeError()));
  std::string whyNot;
  auto s = activate(*e, deopt::metaFromIR(*fn), *obj, home, &whyNot);
  if (!s) return fail(whyNot);
  s->cacheKey = key;
  s->widened = widen;
  s->probe = probe;
  s->resumeExit = fn->resumeExit;
  s->resumeOriginRequired = fn->resumeOriginRequired;
  s->noResume = fn->noResume;
  st.compiled++;
  if (probe) {
    // Stored like any compile: a run too short for its countdown loads it again instead of compiling it (and a
    // probe that did its job was replaced under the same key by the recompile). One that is unprofitable is
    // stored as such if it never left (cache::profilesForNextRun): a run too short for it is interpreted.
    st.probes++;
    s->probeUnprofitable = unprofitable;
  }
  if (direct) {
    forgetDirectExamples(st, sig);
    st.directIR.erase(sig);
    st.directIRWiden.erase(sig);
  }

  // (3) Store it: code that cannot be keyed is not, and a file without a writable database may say why.
  cache::Entry ent;
  ent.key = key;
  ent.codeHash = st.codeHash;
  ent.qualname = st.qualname;
  ent.firstlineno = st.firstlineno;
  ent.signature = sig;
  ent.build = identityOf(*e);
  ent.object = *obj;
  ent.meta = deopt::encodeMeta(s->meta);
  ent.compileMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  bool stored = !st.codeHash.empty() && cache::put(st, ent);
  if (!stored && !config().readOnlyNote.empty())
    note(config().readOnlyNote, config().cacheWarning ? config().cacheWarning.get() : PyExc_RuntimeWarning);
  st.specs.push_back(std::move(s));
  return st.specs.back().get();
}

}  // namespace

deopt::Specialization* obtainSpecialization(profile::CodeState& st, const std::string& sig, PypaFrame* frame,
                                            CompileWhy why) {
  Home home{reinterpret_cast<PyObject*>(pypa_frame_code(frame)), pypa_frame_globals(frame), pypa_frame_builtins(frame),
            frame};
  return obtain(st, sig, home, why, false);
}

deopt::Specialization* obtainResumable(profile::CodeState& st, const deopt::Specialization& probe, PypaFrame* frame,
                                       int unit) {
  Home home{reinterpret_cast<PyObject*>(pypa_frame_code(frame)), pypa_frame_globals(frame), pypa_frame_builtins(frame),
            frame};
  return obtain(st, probe.meta.signature, home, CompileWhy::Threshold, false, unit, probe.probeUnprofitable.empty());
}

namespace {

// Whether `why` (a frame entry's refusal or the reason it was disabled) is about entering native code from the
// interpreter, which a direct call does not do.
bool onlyTheEntryLoses(const std::string& why) {
  auto r = deopt::refusalOf(why);
  return r == deopt::Refusal::Unprofitable || r == deopt::Refusal::MeasuredSlower;
}

}  // namespace

deopt::Specialization* obtainDirect(profile::CodeState& st, const std::string& sig, PyObject* func) {
  if (!st.profileRead) {
    cache::learnFromEarlierRuns(st, buildIdentity, config().compileAll);
    if (PyErr_Occurred()) PyErr_Clear();
  }
  if (st.directFailed.count(sig)) return nullptr;
  // A direct entry runs the same code as the frame entry of its signature: when either exited on most entries (in
  // this run or an earlier one), calls of this signature stay interpreted.
  for (const std::string& key : {cache::profileSignature(sig, true), sig}) {
    auto learned = st.failedSignatures.find(key);
    // Not the frame entry declined as unprofitable or measured slower: called directly, the same code runs without
    // the hook's entry, which is what made it not worth it (direct entries skip the rule).
    if (learned != st.failedSignatures.end() && onlyTheEntryLoses(learned->second.why)) continue;
    if (learned != st.failedSignatures.end()) {
      st.directFailed[sig] = learned->second.why;
      return nullptr;
    }
  }
  if (deopt::Specialization* frameEntry = st.find(sig);
      frameEntry && frameEntry->disabled && !onlyTheEntryLoses(frameEntry->disabledReason)) {
    st.directFailed[sig] = frameEntry->disabledReason;
    return nullptr;
  }
  if (deopt::Specialization* s = st.findDirect(sig)) return s;
  Home home{PyFunction_GET_CODE(func), PyFunction_GET_GLOBALS(func), pypa_function_builtins(func)};
  return obtain(st, sig, home, CompileWhy::Forced, true);
}

}  // namespace pypaccel::hook
