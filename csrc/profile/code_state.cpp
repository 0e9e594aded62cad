// co_extra storage of CodeState, and the registry of live states.
#include "profile/code_state.h"

#include <algorithm>

#include "cpython/layout.h"
#include "support/ref.h"

namespace pypaccel::profile {

CodeState::~CodeState() = default;

namespace {

Py_ssize_t gExtraIndex = -1;
std::vector<CodeState*>* gStates = new std::vector<CodeState*>();  // leaked on purpose: outlives interpreter exit

void freeState(void* p) {
  // Called when the code object dies (the free function may receive NULL).
  auto* st = p ? static_cast<CodeState*>(static_cast<PypaGate*>(p)->state) : nullptr;
  if (!st) return;  // nothing, or the hook entry's layout check
  auto it = std::find(gStates->begin(), gStates->end(), st);
  if (it != gStates->end()) gStates->erase(it);
  delete st;
}

Py_ssize_t extraIndex() {
  if (gExtraIndex < 0) gExtraIndex = _PyEval_RequestCodeExtraIndex(freeState);
  return gExtraIndex;
}

}  // namespace

CodeState* existingState(PyObject* code) {
  Py_ssize_t idx = extraIndex();
  if (idx < 0) return nullptr;
  void* p = nullptr;
  if (_PyCode_GetExtra(code, idx, &p) < 0) {
    PyErr_Clear();
    return nullptr;
  }
  return p ? static_cast<CodeState*>(static_cast<PypaGate*>(p)->state) : nullptr;
}

CodeState* stateFor(PyObject* code) {
  if (CodeState* st = existingState(code)) return st;
  Py_ssize_t idx = extraIndex();
  if (idx < 0) return nullptr;
  auto* st = new CodeState();
  st->code = code;
  auto* co = reinterpret_cast<PyCodeObject*>(code);
  // _PyCode_SetExtra frees an old value: we only ever set it once per code object.
  if (_PyCode_SetExtra(code, idx, &st->gate) < 0) {
    PyErr_Clear();
    delete st;
    return nullptr;
  }
  st->filename = PyUnicode_AsUTF8(pypa_code_filename(co));
  st->qualname = PyUnicode_AsUTF8(pypa_code_qualname(co));
  st->firstlineno = pypa_code_firstlineno(co);
  int flags = pypa_code_flags(co);
  st->nargs = pypa_code_argcount(co) + pypa_code_kwonlyargcount(co) + ((flags & CO_VARARGS) ? 1 : 0) +
              ((flags & CO_VARKEYWORDS) ? 1 : 0);
  gStates->push_back(st);
  return st;
}

const std::vector<CodeState*>& allStates() { return *gStates; }

Py_ssize_t gateIndex() { return extraIndex(); }

}  // namespace pypaccel::profile
