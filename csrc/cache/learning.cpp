// The learning policy: what a profile row means when read back, which exits widen an instruction, and the rows a
// run leaves for the next. The profile's `widen` column ("12,40": byte offsets) is written and read only here.
#include "cache/learning.h"

#include <map>

#include "cache/key.h"
#include "cache/registry.h"
#include "deopt/reasons.h"
#include "deopt/refusals.h"
#include "support/bail.h"

namespace pypaccel::cache {

namespace {

// An exit whose cause a generic (boxed) operation handles without leaving (a big int, a type other than the one
// predicted, an index out of range, a callee other than the one a direct call was compiled for, a direct call's
// result of another type; that exit is at the instruction after the call; a global whose value the code took as a
// constant and the program keeps rebinding): learning it widens that instruction.
bool widenable(int reason) {
  using deopt::Reason;
  auto r = static_cast<Reason>(reason);
  return r == Reason::IntOverflow || r == Reason::InexactIntToFloat || r == Reason::NegativePower ||
         r == Reason::FloatPowDomain || r == Reason::Predicted || r == Reason::OutOfRange ||
         r == Reason::CalleeChanged || r == Reason::CallResultType || r == Reason::GlobalChanged;
}

// The units as the profile's `widen` column stores them: byte offsets, "12,40".
std::string offsetsText(const std::set<int>& units) {
  std::string out;
  for (int u : units) {
    if (!out.empty()) out += ',';
    out += std::to_string(u * 2);
  }
  return out;
}

// And read back (an entry that is not a number is skipped).
std::set<int> unitsOf(const std::string& text) {
  std::set<int> units;
  for (size_t i = 0; i < text.size();) {
    size_t comma = text.find(',', i);
    std::string num = text.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
    if (!num.empty() && num.size() < 9 && num.find_first_not_of("0123456789") == std::string::npos)
      units.insert(std::stoi(num) / 2);
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return units;
}

// The widened units the next run should start from: those already widened, plus widenable exits that fired on
// a tenth of the entries.
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

// Profiles of one file for this build, read once per file with one query, by code hash.
using FileProfiles = std::map<std::string, std::vector<Profile>>;
std::map<std::string, FileProfiles>* gProfiles = new std::map<std::string, FileProfiles>();

const std::vector<Profile>* profilesOf(profile::CodeState& st, llvm::function_ref<std::string()> build) {
  auto it = gProfiles->find(st.filename);
  if (it == gProfiles->end()) {
    FileProfiles& fp = (*gProfiles)[st.filename];
    Store* store = storeFor(st.filename, Open::IfExists);
    std::string identity = store ? build() : std::string();
    if (identity.empty()) return nullptr;
    auto rows = store->profiles("", identity);
    if (!rows) {
      dropStore(st.filename, support::errorReason(rows.takeError()));
      return nullptr;
    }
    for (Profile& p : *rows) fp[p.codeHash].push_back(std::move(p));
    it = gProfiles->find(st.filename);
  }
  // Hash the code only when the file has profiles at all.
  if (it->second.empty() || !ensureCodeHash(st)) return nullptr;
  auto rows = it->second.find(st.codeHash);
  return rows == it->second.end() ? nullptr : &rows->second;
}

}  // namespace

void learnFromEarlierRuns(profile::CodeState& st, llvm::function_ref<std::string()> build, bool compileAll) {
  st.profileRead = true;
  const std::vector<Profile>* rows = profilesOf(st, build);
  if (!rows) return;
  for (const Profile& p : *rows) {
    for (int unit : unitsOf(p.widen)) st.widen[p.signature].insert(unit);
    if (p.state == "disabled" || p.state == "failed") {
      // Never re-enter (or recompile) what an earlier run found exiting every time or could not compile.
      std::string why = (p.state == "disabled" ? "native code exited on most entries in an earlier run"
                                               : "the compiler declined it in an earlier run") +
                        std::string(p.reason.empty() ? "" : " (" + p.reason + ")");
      if (deopt::refusalOf(p.reason) == deopt::Refusal::MeasuredSlower)
        why = deopt::refusalText(deopt::Refusal::SlowerEarlier, {p.reason});
      st.failedSignatures[p.signature] = profile::Interpreted{why, p.state, p.reason};
      st.fallback(why);
    } else if (p.state == "unprofitable") {
      if (compileAll || st.forceCompile) continue;
      std::string why = deopt::refusalText(deopt::Refusal::UnprofitableEarlier, {p.reason});
      st.failedSignatures[p.signature] = profile::Interpreted{why, p.state, p.reason};
      st.fallback(why);
    } else if (p.state == "native") {
      st.warm.insert(p.signature);  // compiled (or loaded) at its first call: the second run starts native
    }
  }
}

std::string profileSignature(const std::string& sig, bool direct) { return direct ? sig + "|d" : sig; }

std::string profileSignature(const deopt::Specialization& s) { return profileSignature(s.meta.signature, s.meta.direct); }

bool retireForWidening(profile::CodeState& st, deopt::Specialization& s) {
  if (s.meta.stressExits || s.retired) return false;
  std::set<int> units = s.widened;
  for (size_t i = 0; i < s.meta.exits.size() && i < s.exitCounts.size(); i++)
    if (s.exitCounts[i] && widenable(s.meta.exits[i].reason)) units.insert(s.meta.exits[i].unit);
  if (units == s.widened) return false;
  s.retired = true;
  st.widen[profileSignature(s)] = units;
  st.fallback("re-specialized: generic arithmetic where the fast path kept exiting (at offsets " +
              widenSuffix(units).substr(2) + ")");
  return true;
}

std::string widenSuffix(const std::set<int>& units) {
  if (units.empty()) return "";
  std::string out = "|w";
  for (int u : units) out += std::to_string(u * 2) + ",";
  return out;
}

std::vector<Profile> profilesForNextRun(const profile::CodeState& st, const std::string& build) {
  std::map<std::string, Profile> bySig;
  auto row = [&](const std::string& sig) -> Profile& {
    Profile& p = bySig[sig];
    p.codeHash = st.codeHash;
    p.signature = sig;
    p.build = build;
    p.qualname = st.qualname;
    p.firstlineno = st.firstlineno;
    p.calls = st.callCount();
    return p;
  };
  for (const auto& [sig, why] : st.failedSignatures) {
    if (why.state.empty()) continue;  // not about this signature
    Profile& p = row(sig);
    p.state = why.state;
    p.reason = why.reason;
  }
  for (const auto& s : st.specs) {
    // A direct entry's record is its own ("|d"): what it learns must not keep the frame entry interpreted.
    Profile& p = row(profileSignature(*s));
    p.entries += s->entries + s->header.entries;
    p.exits += s->exits;
    for (size_t i = 0; i < s->meta.exits.size() && i < s->exitCounts.size(); i++)
      if (s->exitCounts[i])
        p.exitRecords += std::to_string(s->meta.exits[i].unit * 2) + ":" +
                         deopt::exitText(s->meta.exits[i].reason, s->meta.exits[i].detail) + ":" +
                         std::to_string(s->exitCounts[i]) + ";";
    if (s->retired) continue;
    p.widen = offsetsText(widenToLearn(*s));
    p.state = s->disabled ? "disabled" : "native";
    p.reason = s->disabled ? s->disabledReason : "";
    // A probe whose loops never ran long enough to be compiled again, and which is not worth running as it is.
    if (s->probe && !s->probeUnprofitable.empty() && !s->disabled) {
      p.state = "unprofitable";
      p.reason = s->probeUnprofitable;
    }
  }
  std::vector<Profile> out;
  for (auto& [sig, p] : bySig)
    if (!p.state.empty()) out.push_back(std::move(p));
  return out;
}

}  // namespace pypaccel::cache
