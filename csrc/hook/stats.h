// Figures of this process: per code object, what was compiled, loaded, run natively, exited and fell back.
#pragma once
#include <Python.h>

#include <string>
#include <vector>

#include "cache/store.h"
#include "profile/code_state.h"

namespace pypaccel::hook {

// The run's events for one code object, in the cache's event format.
std::vector<cache::Event> eventsOf(const profile::CodeState& st);
// A new reference to the stats() dict.
// What this process did; with `file` set, only that source file's functions (cheap: stats() of a large
// process builds an entry for each of its thousands of functions).
PyObject* statsDict(const char* file = nullptr);
// Writes this run's events into each module's database; returns the databases written.
std::vector<std::string> flushRunRecords(const std::string& runId, double started, const std::string& argv);

}  // namespace pypaccel::hook
