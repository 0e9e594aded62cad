// pypaccel._pypaccel: the Python surface of the extension (the only file that includes pybind11).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <structmember.h>

#include <chrono>
#include <random>

#include "cache/key.h"
#include "cache/registry.h"
#include "deopt/specialization.h"
#include "hook/compile.h"
#include "hook/hook.h"
#include "hook/stats.h"
#include "jit/engine.h"
#include "support/bail.h"
#include "profile/code_state.h"

namespace py = pybind11;
using namespace pypaccel;

namespace {

std::string gRunId;
double gStarted = 0;

hook::Config configFrom(const py::dict& d) {
  hook::Config c = hook::config();
  if (d.contains("threshold")) c.threshold = d["threshold"].cast<int>();
  if (d.contains("stress_exits")) c.stressExits = d["stress_exits"].cast<bool>();
  if (d.contains("compile_all")) c.compileAll = d["compile_all"].cast<bool>();
  if (d.contains("opt_level")) c.optLevel = d["opt_level"].cast<int>();
  if (d.contains("cpu")) c.cpu = d["cpu"].is_none() ? std::string() : d["cpu"].cast<std::string>();
  if (d.contains("db_path_for"))
    c.dbPathFor = d["db_path_for"].is_none() ? support::Ref() : support::Ref::borrow(d["db_path_for"].ptr());
  if (d.contains("exclude_keys")) {
    c.excludeKeys.clear();
    if (!d["exclude_keys"].is_none())
      for (auto k : d["exclude_keys"]) c.excludeKeys.insert(k.cast<std::string>());
  }
  if (d.contains("cache_warning"))
    c.cacheWarning = d["cache_warning"].is_none() ? support::Ref() : support::Ref::borrow(d["cache_warning"].ptr());
  if (d.contains("cache_journal"))
    c.cacheJournal = d["cache_journal"].is_none() ? std::string() : d["cache_journal"].cast<std::string>();
  if (d.contains("read_only_note"))
    c.readOnlyNote = d["read_only_note"].is_none() ? std::string() : d["read_only_note"].cast<std::string>();
  if (c.cacheJournal != "" && c.cacheJournal != "wal" && c.cacheJournal != "delete")
    throw py::value_error("cache_journal must be 'wal' or 'delete'");
  if (c.threshold < 0) throw py::value_error("threshold must be >= 0");
  if (c.optLevel < 0 || c.optLevel > 3) throw py::value_error("opt_level must be 0..3");
  return c;
}

// -- SpecializedFunction: what @specialize returns ---------------------------------------------------------------
// A C-level callable (no extra Python frame in tracebacks) that runs its function with the hook installed.
struct SpecializedFunction {
  PyObject_HEAD
  PyObject* func;
  PyObject* dict;
  vectorcallfunc vectorcall;
};

PyObject* sfCall(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* sf = reinterpret_cast<SpecializedFunction*>(self);
  bool installed = hook::installForCall();
  PyObject* r = PyObject_Vectorcall(sf->func, args, nargsf, kwnames);
  if (installed) hook::uninstallForCall();
  return r;
}

void sfDealloc(PyObject* self) {
  auto* sf = reinterpret_cast<SpecializedFunction*>(self);
  PyObject_GC_UnTrack(self);
  Py_CLEAR(sf->func);
  Py_CLEAR(sf->dict);
  Py_TYPE(self)->tp_free(self);
}

int sfTraverse(PyObject* self, visitproc visit, void* arg) {
  auto* sf = reinterpret_cast<SpecializedFunction*>(self);
  Py_VISIT(sf->func);
  Py_VISIT(sf->dict);
  return 0;
}

PyObject* sfGetattro(PyObject* self, PyObject* name) {
  PyObject* r = PyObject_GenericGetAttr(self, name);
  if (r || !PyErr_ExceptionMatches(PyExc_AttributeError)) return r;
  PyErr_Clear();
  return PyObject_GetAttr(reinterpret_cast<SpecializedFunction*>(self)->func, name);
}

PyObject* sfDescrGet(PyObject* self, PyObject* obj, PyObject*) {
  if (!obj || obj == Py_None) return Py_NewRef(self);
  return PyMethod_New(self, obj);
}

PyObject* sfRepr(PyObject* self) {
  return PyUnicode_FromFormat("<pypaccel.specialize %R>", reinterpret_cast<SpecializedFunction*>(self)->func);
}

PyMemberDef sfMembers[] = {
    {"__wrapped__", T_OBJECT, offsetof(SpecializedFunction, func), READONLY, nullptr},
    {"__dictoffset__", T_PYSSIZET, offsetof(SpecializedFunction, dict), READONLY, nullptr},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(SpecializedFunction, vectorcall), READONLY, nullptr},
    {nullptr},
};

PyType_Slot sfSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(sfDealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(sfTraverse)},
    {Py_tp_getattro, reinterpret_cast<void*>(sfGetattro)},
    {Py_tp_descr_get, reinterpret_cast<void*>(sfDescrGet)},
    {Py_tp_repr, reinterpret_cast<void*>(sfRepr)},
    {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
    {Py_tp_members, sfMembers},
    {0, nullptr},
};

PyType_Spec sfSpec = {"pypaccel.SpecializedFunction", sizeof(SpecializedFunction), 0,
                      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL, sfSlots};

PyObject* gSfType = nullptr;

py::object specializeFunction(py::object func) {
  if (!PyFunction_Check(func.ptr())) throw py::type_error("specialize() takes a Python function");
  PyObject* code = PyFunction_GET_CODE(func.ptr());
  if (profile::CodeState* st = profile::stateFor(code)) {
    st->forceCompile = true;
    st->disarm();  // its next call must reach the hook
  }
  auto* sf = PyObject_GC_New(SpecializedFunction, reinterpret_cast<PyTypeObject*>(gSfType));
  if (!sf) throw py::error_already_set();
  sf->func = Py_NewRef(func.ptr());
  sf->dict = nullptr;
  sf->vectorcall = sfCall;
  PyObject_GC_Track(sf);
  py::object out = py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(sf));
  // Look like the function to introspection (functools.update_wrapper's attributes).
  for (const char* attr : {"__module__", "__name__", "__qualname__", "__doc__"})
    if (py::hasattr(func, attr)) out.attr(attr) = func.attr(attr);
  return out;
}

// Keeps a function (or code object) in the interpreter for good, whatever enable() or @specialize say.
py::object exclude(py::object func) {
  PyObject* code = PyFunction_Check(func.ptr()) ? PyFunction_GET_CODE(func.ptr()) : func.ptr();
  if (!PyCode_Check(code)) throw py::type_error("exclude() takes a Python function or code object");
  profile::CodeState* st = profile::stateFor(code);
  if (!st) throw py::value_error("cannot attach pypaccel state to this code object");
  st->classified = true;
  st->never = profile::kExcludedReason;
  st->specs.clear();
  st->last = nullptr;
  return func;
}

std::vector<std::string> flush() {
  hook::pauseThread();
  py::module_ sys = py::module_::import("sys");
  std::string argv = py::str(sys.attr("argv"));
  std::vector<std::string> written = hook::flushRunRecords(gRunId, gStarted, argv);
  cache::closeStores();
  hook::resumeThread();
  return written;
}

// What `--version` and `doctor` print about the JIT, without creating it: LLVM's version, the CPU compiled code
// would target and whether LLVM knows it.
py::dict targetInfo(const std::string& requestedCpu) {
  py::dict d;
  d["llvm"] = PYPACCEL_LLVM_VERSION;
  std::string cpu = jit::chooseCpu(requestedCpu);
  d["cpu"] = cpu;
  if (auto err = jit::checkCpu(cpu)) d["error"] = support::errorReason(std::move(err));
  else d["error"] = py::none();
  return d;
}

}  // namespace

PYBIND11_MODULE(_pypaccel, m) {
  m.doc() = "pypaccel native core: eval-frame hook, specializer, LLVM ORC JIT and SQLite cache";
  gSfType = PyType_FromSpec(&sfSpec);
  if (!gSfType) throw py::error_already_set();
  m.add_object("SpecializedFunction", py::reinterpret_borrow<py::object>(gSfType));
  std::random_device rd;
  char buf[33];
  snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  gRunId = buf;
  gStarted = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  m.def("configure", [](py::dict config) { hook::configure(configFrom(config)); },
        "Sets the configuration (threshold, stress_exits, compile_all, opt_level, cpu, db_path_for, cache_warning, cache_journal) "
        "without enabling.");
  m.def("enable", [](py::dict config) {
    hook::configure(configFrom(config));
    hook::enable();
  }, py::arg("config") = py::dict(), "Accelerates every Python function that runs from now on.");
  m.def("disable", &hook::disable, "Undoes enable(); safe to call when not enabled.");
  m.def("is_enabled", &hook::isEnabled);
  m.def("program_ending", &hook::programEnding,
        "From now on nothing new is compiled or loaded (the program ended; what runs at exit runs once).");
  m.def("specialize", &specializeFunction, "Returns a callable that runs `func` natively.");
  m.def("exclude", &exclude, "Keeps `func` interpreted for good (returns it).");
  m.def(
      "stats",
      [](py::object file) {
        if (file.is_none()) return py::reinterpret_steal<py::dict>(hook::statsDict());
        std::string f = file.cast<std::string>();
        return py::reinterpret_steal<py::dict>(hook::statsDict(f.c_str()));
      },
      py::arg("file") = py::none());
  m.def("flush", &flush, "Writes this run's records into the cache databases; returns the databases written.");
  m.def("note", [](const std::string& text) { hook::note(text, nullptr); },
        "Records something the user was warned about (listed in stats()['notes']).");
  m.def("notes", &hook::notes, "What stats()['notes'] lists: process-wide trouble the user was warned about.");
  m.def("target_info", &targetInfo, py::arg("cpu") = "",
        "{'llvm', 'cpu', 'error'}: LLVM's version and the CPU code would be compiled for (error: why not).");
  m.def("_passthrough_hook", &hook::passthroughHook, py::arg("on"),
        "Installs (or removes) a PEP 523 hook that only calls the interpreter: what any hook costs, for "
        "bench/hook_cost.py. Refused while pypaccel's own hook is installed.");
  m.def(
      "_stored_meta_problem",
      [](py::bytes key, const std::string& signature, py::bytes meta) {
        deopt::SpecMeta decoded;
        return deopt::storedMetaProblem(std::string(meta), cache::keySymbol(std::string(key)), signature, &decoded);
      },
      py::arg("key"), py::arg("signature"), py::arg("meta"),
      "Why the loader would refuse a stored entry's metadata, or '' (what `cache verify` asks).");
  m.attr("run_id") = gRunId;
}
