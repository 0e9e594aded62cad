// Catch2 entry point: starts one embedded CPython 3.11 for the whole test process (stdlib importable, no signal
// handlers of its own so Catch2 reports crashes), runs the tests, and finalizes the interpreter.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <Python.h>

#include <cstdio>
#include <cstdlib>

namespace {

bool startPython() {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;
  config.parse_argv = 0;
  config.site_import = 0;  // the stdlib is enough; site-packages would make runs depend on the machine
  PyStatus st = PyStatus_Ok();
#ifdef PYPACCEL_PYTHON_HOME
  // The test binary does not live next to the stdlib, so point at the prefix of the Python we were built against
  // unless the caller chose one.
  if (!std::getenv("PYTHONHOME")) st = PyConfig_SetBytesString(&config, &config.home, PYPACCEL_PYTHON_HOME);
#endif
  if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(st)) {
    std::fprintf(stderr, "cannot start Python: %s\n", st.err_msg ? st.err_msg : "?");
    return false;
  }
  if (PyRun_SimpleString("import math, dis") != 0) {
    std::fprintf(stderr, "embedded Python cannot import the stdlib\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (!startPython()) return 2;
  int result = Catch::Session().run(argc, argv);
  if (Py_FinalizeEx() < 0 && result == 0) result = 3;
  return result;
}
