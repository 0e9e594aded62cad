// The open cache databases, one per source file, and the warn-once rule for their trouble.
#include "cache/registry.h"

#include <sys/stat.h>

#include <map>
#include <memory>
#include <set>

#include "cache/key.h"
#include "support/bail.h"

namespace pypaccel::cache {

using support::Ref;

namespace {

StoreSettings* gSettings = new StoreSettings();
std::map<std::string, std::unique_ptr<Store>>* gStores = new std::map<std::string, std::unique_ptr<Store>>();
bool gStoresClosed = false;
std::set<std::string>* gWarned = new std::set<std::string>();  // databases already warned about

// Cache trouble is a miss plus one warning per database and process, never an error for the program (even under
// -W error, where the warning would raise: it is cleared).
void warnOnce(const std::string& db, const std::string& msg) {
  if (!gWarned->insert(db).second) return;
  PyObject *t, *v, *tb;
  PyErr_Fetch(&t, &v, &tb);
  PyObject* category = gSettings->warning ? gSettings->warning.get() : PyExc_RuntimeWarning;
  if (PyErr_WarnEx(category, ("pypaccel cache: " + msg).c_str(), 1) < 0) PyErr_Clear();
  PyErr_Restore(t, v, tb);
}

struct DbPath {
  std::string path;
  bool writable = false;
  bool known = false;  // db_path_for answered (path may be empty: no database for this file)
};
std::map<std::string, DbPath>* gPaths = new std::map<std::string, DbPath>();

// Asked once per file and process.
const DbPath& dbPathOf(const std::string& filename) {
  DbPath& p = (*gPaths)[filename];
  if (p.known) return p;
  p.known = true;
  if (!gSettings->dbPathFor) return p;
  Ref r = Ref::steal(PyObject_CallFunction(gSettings->dbPathFor.get(), "s", filename.c_str()));
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
    if (note) warnOnce(p.path, note);
    else PyErr_Clear();
  }
  return p;
}

}  // namespace

void configureStores(const StoreSettings& s) { *gSettings = s; }

// Code that is only ever looked up (a stdlib function whose loop never runs natively) leaves no file behind.
Store* storeFor(const std::string& filename, Open how) {
  if (gStoresClosed) return nullptr;
  auto it = gStores->find(filename);
  if (it != gStores->end()) return it->second.get();
  const DbPath& p = dbPathOf(filename);
  if (p.path.empty()) return nullptr;
  struct stat sb;
  bool exists = ::stat(p.path.c_str(), &sb) == 0;
  if (!exists && (how != Open::Create || !p.writable)) return nullptr;
  (*gStores)[filename] = nullptr;  // one attempt per file and process: a broken database warns once
  OpenOptions opts;
  opts.writable = p.writable;
  opts.modulePath = filename;
  opts.journal = gSettings->journal;
  auto st = Store::open(p.path, opts);
  if (!st) {
    warnOnce(p.path, support::errorReason(st.takeError()) + "; running without it");
    return nullptr;
  }
  if (!(*st)->note().empty()) warnOnce(p.path, (*st)->note());
  (*gStores)[filename] = std::move(*st);
  return (*gStores)[filename].get();
}

std::optional<Entry> lookUp(const std::string& filename, const std::string& key) {
  Store* store = storeFor(filename, Open::IfExists);
  if (!store) return std::nullopt;
  std::string problem;
  auto entry = store->lookup(key, &problem);
  if (!problem.empty()) {
    // A damaged entry (deleted by the lookup when it may) is one warning; a database that fails is dropped.
    if (entry || problem.find("checksum mismatch") != std::string::npos) warnOnce(store->path(), problem);
    else dropStore(filename, problem);
  }
  return entry;
}

bool put(profile::CodeState& st, const Entry& e) {
  Store* store = storeFor(st.filename, Open::Create);
  if (!store || !store->writable()) return false;
  // Other code objects of this file with the same qualname that this process runs: not older versions of it.
  std::set<std::string> running;
  for (profile::CodeState* other : profile::allStates())
    if (other != &st && other->qualname == st.qualname && other->filename == st.filename && ensureCodeHash(*other))
      running.insert(other->codeHash);
  if (auto err = store->put(e, running)) dropStore(st.filename, support::errorReason(std::move(err)));
  return true;
}

void warnAbout(const std::string& filename, const std::string& msg) {
  auto it = gStores->find(filename);
  if (it != gStores->end() && it->second) warnOnce(it->second->path(), msg);
}

void dropStore(const std::string& filename, const std::string& problem) {
  auto it = gStores->find(filename);
  if (it == gStores->end() || !it->second) return;
  std::string db = it->second->path();
  // A damaged file we may write is deleted, so the next process starts a new cache instead of tripping over it.
  bool remove = it->second->writable() && it->second->lastErrorIsDamage();
  it->second.reset();
  if (remove) Store::remove(db);
  warnOnce(db, problem + (remove ? "; deleted, the next run starts a new cache" : "; running without it"));
}

void forEachStore(llvm::function_ref<void(const std::string& filename, Store& store)> fn) {
  for (auto& [file, st] : *gStores)
    if (st) fn(file, *st);
}

void closeStores() {
  gStoresClosed = true;
  gStores->clear();
}

}  // namespace pypaccel::cache
