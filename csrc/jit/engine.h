// Engine: the process's LLJIT. Modules are optimized and compiled to relocatable objects here (so the cache can
// store them), and every object, fresh or from the cache, is linked the same way with addObjectFile.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Target/TargetMachine.h>

namespace pypaccel::jit {

struct EngineOptions {
  int optLevel = 2;     // 0..3 (PYPACCEL_OPT)
  std::string cpu;      // "" = best named x86-64 level the host supports; "native" = the host CPU
};

class Engine {
 public:
  static llvm::Expected<std::unique_ptr<Engine>> Create(const EngineOptions& opts);
  ~Engine();

  // Optimizes and compiles `mod` into an ELF relocatable object. `spillWords`, the total size of the function's exit
  // snapshots, picks a light pipeline for functions where O2's InstCombine would take seconds over exit spill code;
  // `loops`: the function runs loops natively, so the full register allocator pays for itself in the middle range.
  // `afterOptimize` runs between the optimizer and code generation (not at PYPACCEL_OPT=0). `quick`: code that runs
  // briefly (a probe): the light pipeline and the fast code generator, whatever its size.
  llvm::Expected<std::string> compile(llvm::Module& mod, size_t spillWords = 0, bool loops = true,
                                      const std::function<void(llvm::Module&)>& afterOptimize = nullptr,
                                      bool quick = false);
  // Linked code: its entry point, and an owner whose destruction frees the code (its ORC resource tracker).
  struct Linked {
    void* address = nullptr;
    std::shared_ptr<void> owner;
  };
  // Links an object under its own resource tracker and returns the address of `symbol`. A symbol is linked once
  // per process while its owner lives.
  llvm::Expected<Linked> link(const std::string& object, const std::string& symbol);
  bool isLinked(const std::string& symbol) const { return linked_.count(symbol) > 0; }
  // Where the symbol `name` that compiled code refers to resolves (a helper, a CPython function), or an error.
  llvm::Expected<void*> resolve(const std::string& name);
  // Everything compiled code depends on besides its source: part of every cache key.
  const std::string& buildIdentity() const { return identity_; }
  const std::string& cpu() const { return cpu_; }

 private:
  Engine(std::unique_ptr<llvm::orc::LLJIT> jit, std::unique_ptr<llvm::TargetMachine> tm, std::string cpu,
         int optLevel);
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::unique_ptr<llvm::TargetMachine> tm_;
  std::string cpu_;
  int optLevel_;
  std::string identity_;
  std::map<std::string, std::weak_ptr<void>> linked_;
  std::map<std::string, void*> addresses_;
  void writePerfMap(const std::string& object);
};

// The CPU compiled code targets: a named x86-64 micro-architecture level the host supports (portable across
// machines of that level), or the host CPU itself when asked.
std::string chooseCpu(const std::string& requested);
// Whether LLVM knows `cpu` for this host's target: LLVM itself aborts the process on some unknown names.
llvm::Error checkCpu(const std::string& cpu);

}  // namespace pypaccel::jit
