// Stats: in-process figures (pypaccel.stats()) and the run records written to the cache databases.
#include "hook/stats.h"

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <unistd.h>

#include "cache/learning.h"
#include "cache/registry.h"
#include "deopt/reasons.h"
#include "deopt/refusals.h"
#include "hook/compile.h"
#include "hook/hook.h"
#include "support/bail.h"

namespace pypaccel::hook {

namespace {

bool isFallbackReason(int r) { return deopt::refusalAtExit(r).has_value(); }

// A fallback's reason as stored and shown: "[name] message", the name of its refusals.def row. The stats CLI reads
// it back from the database (_stats_report.py); a message no row matches, or one recorded before refusals had
// names, has no "[name] " prefix.
std::string named(const std::string& message, std::optional<deopt::Refusal> r) {
  return r ? "[" + std::string(deopt::refusalName(*r)) + "] " + message : message;
}
std::string named(const std::string& message) { return named(message, deopt::refusalOf(message)); }

// The name and the message of a stored reason (the name empty when it has none).
std::pair<std::string, std::string> splitNamed(const std::string& reason) {
  size_t close = reason.find("] ");
  if (reason.empty() || reason[0] != '[' || close == std::string::npos) return {"", reason};
  return {reason.substr(1, close - 1), reason.substr(close + 2)};
}

std::string exitText(const ir::ExitPoint& x) { return deopt::exitText(x.reason, x.detail); }

}  // namespace

std::vector<cache::Event> eventsOf(const profile::CodeState& st) {
  std::vector<cache::Event> out;
  auto add = [&](const char* kind, uint64_t count, const std::string& reason = "", int offset = -1, int line = -1) {
    cache::Event e;
    e.qualname = st.qualname;
    e.firstlineno = st.firstlineno;
    e.kind = kind;
    e.count = count;
    e.reason = reason;
    e.offset = offset;
    e.line = line;
    out.push_back(std::move(e));
  };
  if (st.compiled) add("compiled", st.compiled);
  if (st.loaded) add("loaded", st.loaded);
  // Of the compiles: probes (a first call's compile, compiled again at a loop header once the loop ran), and the
  // calls that went on in the recompiled code from that header.
  if (st.probes) add("probes", st.probes);
  if (st.resumed) add("resumed", st.resumed);
  uint64_t calls = 0;
  // Merge the exits of all specializations by (offset, reason).
  std::map<std::tuple<int, int, std::string, int>, uint64_t> exits;  // the last: its reason when a fallback, else -1
  for (const auto& s : st.specs) {
    calls += s->entries + s->header.entries;  // frame entries, and direct calls from native code
    for (size_t i = 0; i < s->meta.exits.size(); i++) {
      const ir::ExitPoint& x = s->meta.exits[i];
      bool fb = isFallbackReason(x.reason);
      uint64_t n = i < s->exitCounts.size() ? s->exitCounts[i] : 0;
      if (n == 0 && !fb) continue;
      exits[{x.unit * 2, x.line, exitText(x), fb ? x.reason : -1}] += n;
    }
    if (s->disabled) add("disabled", 1, s->disabledReason);
    if (s->retired) continue;
    for (int unit : s->widened) {
      int line = -1;
      for (const auto& x : s->meta.exits)
        if (x.unit == unit) line = x.line;
      add("widened", 1, "generic arithmetic, learned from exits (signature " + s->meta.signature + ")", unit * 2, line);
    }
  }
  if (calls) add("native_calls", calls);
  // A fallback is one record per reason (and offset) per run, however many calls it concerned: counted per call,
  // one unsupported instruction in a hot function buried everything else. The calls are a record of their own.
  auto fallback = [&](const std::string& reason, uint64_t n, int offset = -1, int line = -1) {
    add("fallback", n ? 1 : 0, reason, offset, line);
    add("fallback_calls", n, reason, offset, line);
  };
  for (auto& [k, n] : exits) {
    auto& [offset, line, text, fb] = k;
    std::string where = text + " at offset " + std::to_string(offset) + ", line " + std::to_string(line);
    if (fb >= 0) fallback(named(where, deopt::refusalAtExit(fb)), n, offset, line);
    else add("exit", n, text, offset, line);
  }
  if (!st.never.empty() && st.callCount())
    fallback(named(deopt::refusalText(deopt::Refusal::NotCompiled, {st.never})), st.callCount());
  for (auto& [reason, n] : st.fallbacks) fallback(named(reason), n);
  if (st.compileSeconds > 0) add("compile_us", uint64_t(st.compileSeconds * 1e6 + 0.5));
  return out;
}

namespace {

// A plain copy of what a code object's state says, taken before any Python object is built: building them can
// run the GC, which can free code objects and their states while we would be iterating over them.
struct Snapshot {
  std::string filename, qualname;
  int firstlineno;
  uint64_t calls;
  bool storeWorthy;
  bool excluded;  // pypaccel.exclude: its calls are fallbacks by request, and stats say so
  std::vector<cache::Event> events;
  std::vector<cache::Profile> profiles;  // what the next run should start from (flush only)
  std::vector<std::string> usedKeys;     // cache entries this run loaded or stored (their last_used is refreshed)
};

std::vector<Snapshot> snapshotStates(const std::string& build = "", const char* file = nullptr) {
  std::vector<Snapshot> out;
  for (profile::CodeState* st : profile::allStates()) {
    if (file && st->filename != file) continue;
    auto evs = eventsOf(*st);
    if (evs.empty()) continue;
    // Modules where the compiler was at work get a database even if nothing was stored (their fallbacks are the
    // news, and a signature declined as unprofitable is stored so that the next run does not build its IR again);
    // code that was only ever ineligible (generators, ...) or declined for what is not stored (one signature too
    // many) does not create one.
    bool declinedForGood = false;
    for (const auto& [sig, why] : st->failedSignatures) declinedForGood |= !why.state.empty();
    bool worthy = st->never.empty() && (st->compiled || st->loaded || declinedForGood);
    bool excluded = st->never == profile::kExcludedReason || st->never == profile::kExcludedByListReason;
    out.push_back({st->filename, st->qualname, st->firstlineno, st->callCount(), worthy, excluded, std::move(evs), {}, {}});
    if (!build.empty() && st->never.empty() && !st->codeHash.empty()) {
      out.back().profiles = cache::profilesForNextRun(*st, build);
      for (const auto& s : st->specs)
        if (!s->cacheKey.empty() && !s->retired) out.back().usedKeys.push_back(s->cacheKey);
    }
  }
  return out;
}

}  // namespace

PyObject* statsDict(const char* file) {
  uint64_t compiled = 0, loaded = 0, fallbacks = 0, fallbackCalls = 0, exits = 0, native = 0, disabled = 0, probes = 0,
           resumed = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> byRefusal;  // name -> fallbacks, their calls
  PyObject* functions = PyList_New(0);
  std::vector<Snapshot> snaps = snapshotStates("", file);
  for (const Snapshot& sn : snaps) {
    const std::vector<cache::Event>& evs = sn.events;
    const Snapshot* st = &sn;
    PyObject* exitList = PyList_New(0);
    PyObject* fbList = PyList_New(0);
    PyObject* widenList = PyList_New(0);
    PyObject* disabledList = PyList_New(0);
    uint64_t c = 0, l = 0, n = 0, compileUs = 0, p = 0, r = 0;
    bool dis = false;
    std::map<std::tuple<int, int, std::string>, PyObject*> fbByWhere;  // borrowed from fbList
    for (const auto& e : evs) {
      if (e.kind == "compiled") c += e.count;
      else if (e.kind == "loaded") l += e.count;
      else if (e.kind == "native_calls") n += e.count;
      else if (e.kind == "compile_us") compileUs += e.count;
      else if (e.kind == "probes") p += e.count;
      else if (e.kind == "resumed") r += e.count;
      else if (e.kind == "disabled") {
        dis = true;
        disabled += e.count;
        PyObject* why = PyUnicode_FromString(e.reason.c_str());
        if (why && !PySequence_Contains(disabledList, why)) PyList_Append(disabledList, why);
        Py_XDECREF(why);
      }
      else if (e.kind == "widened") {
        PyObject* d = Py_BuildValue("{s:i,s:i,s:s}", "offset", e.offset, "line", e.line, "reason", e.reason.c_str());
        PyList_Append(widenList, d);
        Py_DECREF(d);
      } else if (e.kind == "exit") {
        PyObject* d = Py_BuildValue("{s:i,s:i,s:s,s:K}", "offset", e.offset, "line", e.line, "reason",
                                    e.reason.c_str(), "count", (unsigned long long)e.count);
        PyList_Append(exitList, d);
        Py_DECREF(d);
        exits += e.count;
      } else if (e.kind == "fallback") {
        auto [name, message] = splitNamed(e.reason);
        PyObject* d = Py_BuildValue("{s:i,s:i,s:z,s:s,s:K,s:K}", "offset", e.offset, "line", e.line, "refusal",
                                    name.empty() ? nullptr : name.c_str(), "reason", message.c_str(), "count",
                                    (unsigned long long)e.count, "calls", 0ull);
        if (!name.empty()) byRefusal[name].first += e.count;
        PyList_Append(fbList, d);
        Py_DECREF(d);
        fbByWhere[{e.offset, e.line, e.reason}] = d;
        fallbacks += e.count;
      } else if (e.kind == "fallback_calls") {
        auto it = fbByWhere.find({e.offset, e.line, e.reason});
        if (it != fbByWhere.end()) {
          PyObject* calls = PyLong_FromUnsignedLongLong(e.count);
          PyDict_SetItemString(it->second, "calls", calls);
          Py_DECREF(calls);
        }
        std::string name = splitNamed(e.reason).first;
        if (!name.empty()) byRefusal[name].second += e.count;
        fallbackCalls += e.count;
      }
    }
    compiled += c;
    loaded += l;
    native += n;
    probes += p;
    resumed += r;
    const char* state = st->excluded ? "excluded" : dis ? "disabled" : (c + l) ? "native" : "interpreted";
    PyObject* f = Py_BuildValue("{s:s,s:s,s:i,s:K,s:K,s:K,s:K,s:K,s:K,s:d,s:s,s:N,s:N,s:N,s:N}", "file",
                                st->filename.c_str(), "qualname", st->qualname.c_str(), "firstlineno", st->firstlineno,
                                "calls", (unsigned long long)st->calls, "compiled", (unsigned long long)c, "loaded",
                                (unsigned long long)l, "native_calls", (unsigned long long)n, "probes",
                                (unsigned long long)p, "resumed", (unsigned long long)r, "compile_seconds",
                                double(compileUs) / 1e6, "state", state, "exits", exitList, "fallbacks", fbList,
                                "widened", widenList, "disabled_reasons", disabledList);
    PyList_Append(functions, f);
    Py_DECREF(f);
  }
  PyObject* totals = Py_BuildValue(
      "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:d}", "compiled", (unsigned long long)compiled, "loaded",
      (unsigned long long)loaded, "fallbacks", (unsigned long long)fallbacks, "fallback_calls",
      (unsigned long long)fallbackCalls, "exits", (unsigned long long)exits, "native_calls", (unsigned long long)native,
      "disabled", (unsigned long long)disabled, "probes", (unsigned long long)probes, "resumed",
      (unsigned long long)resumed, "compile_seconds", compileSeconds());
  PyObject* refusals = PyDict_New();
  for (const auto& [name, n] : byRefusal) {
    PyObject* counts = Py_BuildValue("{s:K,s:K}", "fallbacks", (unsigned long long)n.first, "calls",
                                     (unsigned long long)n.second);
    PyDict_SetItemString(refusals, name.c_str(), counts);
    Py_DECREF(counts);
  }
  PyObject* noteList = PyList_New(0);
  for (const std::string& text : notes()) {
    PyObject* t = PyUnicode_FromString(text.c_str());
    PyList_Append(noteList, t);
    Py_DECREF(t);
  }
  return Py_BuildValue("{s:N,s:N,s:N,s:N}", "totals", totals, "refusals", refusals, "functions", functions, "notes",
                       noteList);
}

std::vector<std::string> flushRunRecords(const std::string& runId, double started, const std::string& argv) {
  struct FileRecords {
    std::vector<cache::Event> events;
    std::vector<cache::Profile> profiles;
    std::vector<std::string> usedKeys;
  };
  std::map<std::string, FileRecords> byFile;
  std::vector<Snapshot> snaps = snapshotStates(currentBuildIdentity());
  for (Snapshot& sn : snaps) {
    auto& v = byFile[sn.filename];
    v.events.insert(v.events.end(), sn.events.begin(), sn.events.end());
    v.profiles.insert(v.profiles.end(), sn.profiles.begin(), sn.profiles.end());
    v.usedKeys.insert(v.usedKeys.end(), sn.usedKeys.begin(), sn.usedKeys.end());
    if (sn.storeWorthy) cache::storeFor(sn.filename, cache::Open::Create);
  }
  double ended = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<std::string> written;
  cache::forEachStore([&](const std::string& file, cache::Store& store) {
    auto it = byFile.find(file);
    static const FileRecords kNone;
    const auto& rec = it == byFile.end() ? kNone : it->second;
    if (auto err = store.recordRun(runId, started, ended, long(getpid()), argv, rec.events, rec.profiles,
                                   rec.usedKeys))
      llvm::consumeError(std::move(err));
    else if (store.writable())
      written.push_back(store.path());
  });
  return written;
}

}  // namespace pypaccel::hook
