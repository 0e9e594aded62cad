// Compile-or-load: the cache is consulted before any IR is built; a hit links the stored object without running
// the optimizer or codegen. Every failure becomes a recorded fallback, never an exception for the program.
#include "hook/compile.h"

#include <sys/stat.h>

#include <chrono>
#include <map>
#include <set>
#include <memory>

#include "cache/key.h"
#include "cache/store.h"
#include "codegen/codegen.h"
#include "deopt/reasons.h"
#include "deopt/refusals.h"
#include "hook/hook.h"
#include "jit/engine.h"
#include "specialize/builder.h"
#include "support/bail.h"

namespace pypaccel::hook {

using support::Ref;

namespace {

constexpr size_t kMaxSignatures = 8;  // specializations per code object (Refusal::TooManySignatures)
// Past this, even the light pipeline takes seconds and hundreds of MB (see jit/engine.cpp): not worth it.
constexpr size_t kMaxSpillWords = 60000;

std::unique_ptr<jit::Engine>* gEngine = new std::unique_ptr<jit::Engine>();
std::string* gEngineError = new std::string();
std::map<std::string, std::unique_ptr<cache::Store>>* gStores = new std::map<std::string, std::unique_ptr<cache::Store>>();
double gCompileSeconds = 0;
bool gStoresClosed = false;

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

std::set<std::string>* gWarned = new std::set<std::string>();  // databases already warned about

// Cache trouble is a miss plus one warning per database and process, never an error for the program (even under
// -W error, where the warning would raise: it is cleared).
void warnCache(const std::string& db, const std::string& msg) {
  if (!gWarned->insert(db).second) return;
  PyObject *t, *v, *tb;
  PyErr_Fetch(&t, &v, &tb);
  PyObject* category = config().cacheWarning ? config().cacheWarning.get() : PyExc_RuntimeWarning;
  if (PyErr_WarnEx(category, ("pypaccel cache: " + msg).c_str(), 1) < 0) PyErr_Clear();
  PyErr_Restore(t, v, tb);
}

struct DbPath {
  std::string path;
  bool writable = false;
  bool known = false;  // db_path_for answered (path may be empty: no database for this file)
};
std::map<std::string, DbPath>* gPaths = new std::map<std::string, DbPath>();

const DbPath& dbPathOf(const std::string& filename) {
  DbPath& p = (*gPaths)[filename];
  if (p.known) return p;
  p.known = true;
  if (!config().dbPathFor) return p;
  Ref r = Ref::steal(PyObject_CallFunction(config().dbPathFor.get(), "s", filename.c_str()));
  if (!r || r.get() == Py_None || !PyTuple_Check(r.get()) || PyTuple_GET_SIZE(r.get()) < 2) {
    PyErr_Clear();
    return p;
  }
  const char* path = PyUnicode_AsUTF8(PyTuple_GET_ITEM(r.get(), 0));
  if (!path) {
    PyErr_Clear();
    return p;
  }
  p.path = path;
  p.writable = PyObject_IsTrue(PyTuple_GET_ITEM(r.get(), 1)) == 1;
  if (PyTuple_GET_SIZE(r.get()) >= 3 && PyUnicode_Check(PyTuple_GET_ITEM(r.get(), 2))) {
    // A note on why this is not the preferred location (e.g. a database there we may not write).
    const char* note = PyUnicode_AsUTF8(PyTuple_GET_ITEM(r.get(), 2));
    if (note) warnCache(p.path, note);
    else PyErr_Clear();
  }
  return p;
}

// The database of a source file. Looking something up never creates one (code that is only ever looked up,
// like a stdlib function whose loop never runs natively, leaves no file behind); storing does.
cache::Store* storeFor(const std::string& filename, bool create) {
  if (gStoresClosed) return nullptr;
  auto it = gStores->find(filename);
  if (it != gStores->end()) return it->second.get();
  const DbPath& p = dbPathOf(filename);
  if (p.path.empty()) return nullptr;
  struct stat sb;
  bool exists = ::stat(p.path.c_str(), &sb) == 0;
  if (!exists && (!create || !p.writable)) return nullptr;
  (*gStores)[filename] = nullptr;  // one attempt per file and process: a broken database warns once
  cache::OpenOptions opts;
  opts.writable = p.writable;
  opts.modulePath = filename;
  opts.journal = config().cacheJournal;
  auto st = cache::Store::open(p.path, opts);
  if (!st) {
    warnCache(p.path, support::errorReason(st.takeError()) + "; running without it");
    return nullptr;
  }
  if (!(*st)->note().empty()) warnCache(p.path, (*st)->note());
  (*gStores)[filename] = std::move(*st);
  return (*gStores)[filename].get();
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

std::string buildIdentity(jit::Engine& e) {
  return e.buildIdentity() + (config().stressExits ? ";stress=1" : ";stress=0");
}

// Turns a linked object into a running specialization; false (with why) if it does not fit this process.
// Where a specialization runs: its code object, and the globals and builtins it is linked against.
struct Home {
  PyObject* code;
  PyObject* globals;
  PyObject* builtins;
};

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

void* openStore(const std::string& filename) { return storeFor(filename, true); }

void closeStores() {
  gStoresClosed = true;
  gStores->clear();
}

void forEachStore(void (*fn)(const std::string&, void*, void*), void* arg) {
  for (auto& [file, st] : *gStores)
    if (st) fn(file, st.get(), arg);
}

namespace {

// A database that failed under us (malformed, locked beyond the busy timeout): warn once, use it no more.
void dropStore(const std::string& filename, const std::string& problem) {
  auto it = gStores->find(filename);
  if (it == gStores->end() || !it->second) return;
  std::string db = it->second->path();
  // A damaged file we may write is deleted, so the next process starts a new cache instead of tripping over it.
  bool remove = it->second->writable() && it->second->lastErrorIsDamage();
  it->second.reset();
  if (remove) cache::Store::remove(db);
  warnCache(db, problem + (remove ? "; deleted, the next run starts a new cache" : "; running without it"));
}

// An exit whose cause a generic (boxed) operation handles without leaving: learning it widens that instruction.
bool widenable(int reason) {
  using deopt::Reason;
  auto r = static_cast<Reason>(reason);
  return r == Reason::IntOverflow || r == Reason::InexactIntToFloat || r == Reason::NegativePower ||
         r == Reason::FloatPowDomain;
}

std::string widenSuffix(const std::set<int>& units) {
  if (units.empty()) return "";
  std::string out = "|w";
  for (int u : units) out += std::to_string(u * 2) + ",";
  return out;
}

}  // namespace

std::string currentBuildIdentity() { return *gEngine ? buildIdentity(**gEngine) : std::string(); }

bool ensureCodeHash(profile::CodeState& st) {
  if (!st.hashTried) {
    st.hashTried = true;
    auto h = cache::codeContentHash(st.code);
    if (h) st.codeHash = *h;
    else llvm::consumeError(h.takeError());
  }
  return !st.codeHash.empty();
}

namespace {

// Profiles of one file for this build, read once per file with one query, by code hash.
using FileProfiles = std::map<std::string, std::vector<cache::Profile>>;
std::map<std::string, FileProfiles>* gProfiles = new std::map<std::string, FileProfiles>();

const std::vector<cache::Profile>* profilesOf(profile::CodeState& st) {
  auto it = gProfiles->find(st.filename);
  if (it == gProfiles->end()) {
    FileProfiles& fp = (*gProfiles)[st.filename];
    cache::Store* store = storeFor(st.filename, false);
    jit::Engine* e = store ? engine() : nullptr;
    if (!e) return nullptr;
    auto rows = store->profiles("", buildIdentity(*e));
    if (!rows) {
      dropStore(st.filename, support::errorReason(rows.takeError()));
      return nullptr;
    }
    for (cache::Profile& p : *rows) fp[p.codeHash].push_back(std::move(p));
    it = gProfiles->find(st.filename);
  }
  // Hash the code only when the file has profiles at all.
  if (it->second.empty() || !ensureCodeHash(st)) return nullptr;
  auto rows = it->second.find(st.codeHash);
  return rows == it->second.end() ? nullptr : &rows->second;
}

}  // namespace

void learnFromEarlierRuns(profile::CodeState& st) {
  st.profileRead = true;
  const std::vector<cache::Profile>* rows = profilesOf(st);
  if (!rows) return;
  for (const cache::Profile& p : *rows) {
    for (size_t i = 0; i < p.widen.size();) {
      size_t comma = p.widen.find(',', i);
      std::string num = p.widen.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
      if (!num.empty() && num.size() < 9 && num.find_first_not_of("0123456789") == std::string::npos)
        st.widen[p.signature].insert(std::stoi(num) / 2);
      if (comma == std::string::npos) break;
      i = comma + 1;
    }
    if (p.state == "disabled" || p.state == "failed") {
      // Never re-enter (or recompile) what an earlier run found exiting every time or could not compile.
      std::string why = (p.state == "disabled" ? "native code exited on most entries in an earlier run"
                                               : "the compiler declined it in an earlier run") +
                        std::string(p.reason.empty() ? "" : " (" + p.reason + ")");
      st.failedSignatures[p.signature] = profile::Interpreted{why, p.state, p.reason};
      st.fallback(why);
    } else if (p.state == "native") {
      st.warm.insert(p.signature);  // compiled (or loaded) at its first call: the second run starts native
    }
  }
}

bool retireForWidening(profile::CodeState& st, deopt::Specialization& s) {
  if (s.meta.stressExits || s.retired) return false;
  std::set<int> units = s.widened;
  for (size_t i = 0; i < s.meta.exits.size() && i < s.exitCounts.size(); i++)
    if (s.exitCounts[i] && widenable(s.meta.exits[i].reason)) units.insert(s.meta.exits[i].unit);
  if (units == s.widened) return false;
  s.retired = true;
  st.widen[s.meta.signature] = units;
  st.fallback("re-specialized: generic arithmetic where the fast path kept exiting (at offsets " +
              widenSuffix(units).substr(2) + ")");
  return true;
}

std::set<int> widenToLearn(const deopt::Specialization& s) {
  std::set<int> units = s.widened;
  if (s.meta.stressExits) return units;
  for (size_t i = 0; i < s.meta.exits.size() && i < s.exitCounts.size(); i++) {
    uint64_t n = s.exitCounts[i];
    // Widen where the fast path failed on at least a tenth of the entries (or at all, over few entries).
    if (n && widenable(s.meta.exits[i].reason) && (s.entries < 10 || n * 10 >= s.entries))
      units.insert(s.meta.exits[i].unit);
  }
  return units;
}

namespace {

deopt::Specialization* obtain(profile::CodeState& st, const std::string& sig, const Home& home, CompileWhy why,
                              bool direct) {
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
    // Too many signatures is not this signature's doing: the next run may compile it.
    bool ours = deopt::refusalOf(reason) != deopt::Refusal::TooManySignatures;
    st.failedSignatures[sig] = profile::Interpreted{reason, ours ? "failed" : "", reason};
    st.fallback(reason);
    return nullptr;
  };
  if (st.specs.size() >= kMaxSignatures)
    return fail(deopt::refusalText(deopt::Refusal::TooManySignatures, {std::to_string(kMaxSignatures), sig}));
  jit::Engine* e = engine();
  if (!e) {
    st.never = *gEngineError;  // reported once per function as "not compiled: ..."
    return nullptr;
  }
  PyObject* code = home.code;
  ensureCodeHash(st);
  std::set<int> noWiden;
  const std::set<int>& widen = direct ? noWiden : st.widen[sig];
  std::string key = cache::specializationKey(st.codeHash.empty() ? st.qualname : st.codeHash,
                                             sig + widenSuffix(widen) + (direct ? "|d" : ""), buildIdentity(*e));
  std::string symbol = cache::keySymbol(key);

  // (1) The cache, before any IR is built.
  cache::Store* store = st.codeHash.empty() ? nullptr : storeFor(st.filename, false);
  if (store) {
    std::string problem;
    auto entry = store->lookup(key, &problem);
    if (!problem.empty()) {
      if (entry || problem.find("checksum mismatch") != std::string::npos) warnCache(store->path(), problem);
      else dropStore(st.filename, problem), store = nullptr;
    }
    if (entry) {
      deopt::SpecMeta meta;
      std::string whyNot;
      // What `cache verify` checks too; then the one check of the request itself (a direct entry's key differs).
      std::string damage = deopt::storedMetaProblem(entry->meta, symbol, sig, &meta);
      if (damage.empty() && meta.direct != direct)
        damage = meta.direct ? "metadata is a direct entry's, not a frame entry's"
                             : "metadata is a frame entry's, not a direct entry's";
      if (!damage.empty()) {
        warnCache(store->path(), "damaged metadata for " + st.qualname + " (" + damage + "); it will be compiled again");
      } else if (auto s = activate(*e, std::move(meta), entry->object, home, &whyNot)) {
        s->fromCache = true;
        s->cacheKey = key;
        s->widened = widen;
        st.loaded++;
        st.specs.push_back(std::move(s));
        return st.specs.back().get();
      }
      // A stored specialization that does not fit this process (a global changed type): compile afresh.
    }
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
  opts.directInline = directInlineIR;
  auto fn = specialize::buildFunction(*info, *bc, sig, home.globals, home.builtins, opts, symbol);
  if (!fn) return fail(support::errorReason(fn.takeError()));
  if (direct) {
    std::string impure = whyNotDirect(*fn);
    if (!impure.empty()) return fail(impure);
  }
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
  auto obj = e->compile(**mod, spillWords, [&](llvm::Module& m) {
    if (llvm::Function* f = direct ? m.getFunction(symbol) : nullptr) codegen::splitFrameFreeFront(*f);
  });
  if (!obj) return fail(support::errorReason(obj.takeError()));
  std::string whyNot;
  auto s = activate(*e, deopt::metaFromIR(*fn), *obj, home, &whyNot);
  if (!s) return fail(whyNot);
  s->cacheKey = key;
  s->widened = widen;
  st.compiled++;
  if (!store && !st.codeHash.empty()) store = storeFor(st.filename, true);
  if (store && store->writable()) {
    cache::Entry ent;
    ent.key = key;
    ent.codeHash = st.codeHash;
    ent.qualname = st.qualname;
    ent.firstlineno = st.firstlineno;
    ent.signature = sig;
    ent.build = buildIdentity(*e);
    ent.object = *obj;
    ent.meta = deopt::encodeMeta(s->meta);
    ent.compileMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    // Other code objects of this file with the same qualname that this process runs: not older versions of it.
    std::set<std::string> running;
    for (profile::CodeState* other : profile::allStates())
      if (other != &st && other->qualname == st.qualname && other->filename == st.filename && ensureCodeHash(*other))
        running.insert(other->codeHash);
    if (auto err = store->put(ent, running)) dropStore(st.filename, support::errorReason(std::move(err)));
  } else if (!config().readOnlyNote.empty()) {
    note(config().readOnlyNote, config().cacheWarning ? config().cacheWarning.get() : PyExc_RuntimeWarning);
  }
  st.specs.push_back(std::move(s));
  return st.specs.back().get();
}

}  // namespace

deopt::Specialization* obtainSpecialization(profile::CodeState& st, const std::string& sig, PypaFrame* frame,
                                            CompileWhy why) {
  Home home{reinterpret_cast<PyObject*>(pypa_frame_code(frame)), pypa_frame_globals(frame), pypa_frame_builtins(frame)};
  return obtain(st, sig, home, why, false);
}

deopt::Specialization* obtainDirect(profile::CodeState& st, const std::string& sig, PyObject* func) {
  if (!st.profileRead) {
    learnFromEarlierRuns(st);
    if (PyErr_Occurred()) PyErr_Clear();
  }
  if (st.directFailed.count(sig)) return nullptr;
  // A direct entry runs the same code as the frame entry of its signature: when either exited on most entries (in
  // this run or an earlier one), calls of this signature stay interpreted.
  for (const std::string& key : {sig + "|d", sig}) {
    auto learned = st.failedSignatures.find(key);
    if (learned != st.failedSignatures.end()) {
      st.directFailed[sig] = learned->second.why;
      return nullptr;
    }
  }
  if (deopt::Specialization* frameEntry = st.find(sig); frameEntry && frameEntry->disabled) {
    st.directFailed[sig] = frameEntry->disabledReason;
    return nullptr;
  }
  if (deopt::Specialization* s = st.findDirect(sig)) return s;
  auto* f = reinterpret_cast<PyFunctionObject*>(func);
  Home home{f->func_code, f->func_globals, f->func_builtins};
  return obtain(st, sig, home, CompileWhy::Forced, true);
}

}  // namespace pypaccel::hook
