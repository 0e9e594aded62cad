// LLJIT set-up, the O0-O3 pipeline, object emission and linking.
//  (1) one LLJIT per process (JITLink, PIC, small code model on x86-64 ELF);
//  (2) CPython's exported symbols resolve through the process, pypa_rt_* helpers through absoluteSymbols
//      (the extension is loaded RTLD_LOCAL, invisible to dlsym);
//  (3) modules are optimized with the new pass manager and emitted to an object ourselves, so the same bytes go
//      to the cache and to addObjectFile.
#include "jit/engine.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Object/SymbolSize.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_os_ostream.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/TargetParser/Host.h>

#include <Python.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "cpython/cpy.h"
#include "runtime/helpers.h"
#include "support/bail.h"
#include "support/build_id.h"

namespace pypaccel::jit {

using namespace llvm;

std::string chooseCpu(const std::string& requested) {
  if (requested == "native") return sys::getHostCPUName().str();
  if (!requested.empty()) return requested;
  StringMap<bool> f = sys::getHostCPUFeatures();
  auto has = [&](const char* name) { return f.lookup(name); };
  bool v2 = has("cx16") && has("popcnt") && has("sse4.2") && has("ssse3") && has("sahf");
  bool v3 = v2 && has("avx") && has("avx2") && has("bmi") && has("bmi2") && has("f16c") && has("fma") &&
            has("lzcnt") && has("movbe") && has("xsave");
  return v3 ? "x86-64-v3" : v2 ? "x86-64-v2" : "x86-64";
}

Engine::Engine(std::unique_ptr<orc::LLJIT> jit, std::unique_ptr<TargetMachine> tm, std::string cpu, int optLevel)
    : jit_(std::move(jit)), tm_(std::move(tm)), cpu_(std::move(cpu)),
      optLevel_(optLevel) {
  identity_ = "py=" + std::to_string(pypa_cpy_version_hex()) + ";abi=cpython-311" + pypa_cpy_abi_flags() + "-" + std::to_string(sizeof(void*) * 8) +
              ";pypaccel=" PYPACCEL_VERSION ";format=" + std::to_string(runtime::kNativeFormat) +
              ";build=" + (support::ownBuildId().empty() ? std::string("none") : support::ownBuildId()) + ";llvm=" PYPACCEL_LLVM_VERSION ";triple=" +
              tm_->getTargetTriple().str() + ";cpu=" + cpu_ + ";features=" + tm_->getTargetFeatureString().str() +
              ";opt=" + std::to_string(optLevel_);
}

Engine::~Engine() {
  if (jit_) {
    if (auto err = jit_->getExecutionSession().endSession()) consumeError(std::move(err));
  }
}

Error checkCpu(const std::string& cpu) {
  InitializeNativeTarget();
  std::string triple = sys::getProcessTriple(), err;
  const Target* target = TargetRegistry::lookupTarget(triple, err);
  if (!target) return support::bail(err);
  std::unique_ptr<MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
  if (!sti || !sti->isCPUStringValid(cpu)) return support::bail("unknown CPU '" + cpu + "' (PYPACCEL_CPU)");
  return Error::success();
}

Expected<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& opts) {
  InitializeNativeTarget();
  InitializeNativeTargetAsmPrinter();
  auto jtmb = orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) return jtmb.takeError();
  std::string cpu = chooseCpu(opts.cpu);
  // LLVM aborts the process on some unknown CPU names: check the name against the target first.
  if (auto err = checkCpu(cpu)) return std::move(err);
  jtmb->setCPU(cpu);
  // Features come from the named level, not from the host: code stays valid on any CPU of that level.
  jtmb->getFeatures() = SubtargetFeatures();
  if (opts.cpu == "native") {
    StringMap<bool> f = sys::getHostCPUFeatures();
    for (auto& kv : f) jtmb->getFeatures().AddFeature(kv.first(), kv.second);
  }
  static const CodeGenOptLevel kLevels[] = {CodeGenOptLevel::None, CodeGenOptLevel::Less, CodeGenOptLevel::Default,
                                            CodeGenOptLevel::Aggressive};
  jtmb->setCodeGenOptLevel(kLevels[opts.optLevel < 0 ? 0 : opts.optLevel > 3 ? 3 : opts.optLevel]);
  jtmb->setRelocationModel(Reloc::PIC_);
  jtmb->setCodeModel(CodeModel::Small);
  auto tm = jtmb->createTargetMachine();
  if (!tm) return tm.takeError();
  auto jit = orc::LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
  if (!jit) return jit.takeError();

  auto& jd = (*jit)->getMainJITDylib();
  auto gen = orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!gen) return gen.takeError();
  jd.addGenerator(std::move(*gen));
  orc::SymbolMap helpers;
  int n = 0;
  const runtime::HelperSymbol* syms = runtime::helperSymbols(&n);
  for (int i = 0; i < n; i++)
    helpers[(*jit)->mangleAndIntern(syms[i].name)] = {orc::ExecutorAddr::fromPtr(syms[i].address),
                                                      JITSymbolFlags::Exported | JITSymbolFlags::Callable};
  if (auto err = jd.define(orc::absoluteSymbols(std::move(helpers)))) return std::move(err);
  return std::unique_ptr<Engine>(new Engine(std::move(*jit), std::move(*tm), cpu, opts.optLevel));
}

// Above this many exit-spill words the full IR pipeline costs more than it can save (measured: a function of 100
// locals took 0.8 s at O2, 0.02 s without optimization): a light one runs instead.
constexpr size_t kLightPipelineSpillWords = 3000;
// Above this many, the fast instruction selector and register allocator too. Below it the full ones are worth their
// time: the fast allocator keeps every value in memory, and n-body's `advance` (4,033 words: 27 locals, 83 exits)
// ran 0.49 s with it and 0.30 s with the full one, for 135 ms of compiling instead of 22 ms (a function of 50 locals
// and 18,231 words: 104 ms against 429 ms).
constexpr size_t kFastCodegenSpillWords = 10000;

namespace {

// PYPACCEL_DUMP_IR=DIR writes each module before and after optimization (DIR/<name>.ll, DIR/<name>.opt.ll), for
// reading or for replaying a pass pipeline with opt/llc. A development aid: nothing checks that DIR exists.
void dumpModule(const Module& mod, const char* suffix) {
  const char* dir = std::getenv("PYPACCEL_DUMP_IR");
  if (!dir || !*dir) return;
  std::ofstream out(std::string(dir) + "/" + mod.getName().str() + suffix);
  raw_os_ostream os(out);
  mod.print(os, nullptr);
}

}  // namespace

Expected<std::string> Engine::compile(Module& mod, size_t spillWords, bool loops,
                                      const std::function<void(Module&)>& afterOptimize, bool quick) {
  mod.setDataLayout(tm_->createDataLayout());
  mod.setTargetTriple(tm_->getTargetTriple().str());
  dumpModule(mod, ".ll");
  if (optLevel_ > 0) {
    LoopAnalysisManager lam;
    FunctionAnalysisManager fam;
    CGSCCAnalysisManager cgam;
    ModuleAnalysisManager mam;
    PassBuilder pb(tm_.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    if (quick || spillWords > kLightPipelineSpillWords) {
      // Registers for the locals, common subexpressions, a clean CFG: most of the gain at a fraction of the cost.
      ModulePassManager mpm;
      if (auto err = pb.parsePassPipeline(mpm, "function(sroa,early-cse,simplifycfg)")) return std::move(err);
      mpm.run(mod, mam);
    } else {
      OptimizationLevel level = optLevel_ == 1   ? OptimizationLevel::O1
                                : optLevel_ == 3 ? OptimizationLevel::O3
                                                 : OptimizationLevel::O2;
      pb.buildPerModuleDefaultPipeline(level).run(mod, mam);
    }
    if (afterOptimize) afterOptimize(mod);
    dumpModule(mod, ".opt.ll");
  }
  SmallVector<char, 0> buf;
  raw_svector_ostream os(buf);
  // The largest functions get the fast instruction selector and register allocator: their size is exit spill code,
  // which the full ones spend seconds on (300 locals: 3.4 s, most of it here) for nothing the hot path uses.
  CodeGenOptLevel level = tm_->getOptLevel();
  // Code generation at None also switches the target machine to the fast instruction selector for good
  // (TargetPassConfig sets Options.EnableFastISel): put that back too, or every later compile in the process used
  // it. (It did from session 18 on: the scheduler kernel's direct entries ran 35% more instructions, 15% slower.)
  bool fastISel = tm_->Options.EnableFastISel;
  // Loop-free code runs once per call: its size, not its speed, is what counts there (raytrace's `make_scene`, 7,000
  // words, called once: 600 ms of compiling with the full allocator).
  if (quick || spillWords > (loops ? kFastCodegenSpillWords : kLightPipelineSpillWords))
    tm_->setOptLevel(CodeGenOptLevel::None);
  legacy::PassManager pm;  // codegen still runs on the legacy pass manager in LLVM 19
  bool failed = tm_->addPassesToEmitFile(pm, os, nullptr, CodeGenFileType::ObjectFile);
  if (!failed) pm.run(mod);
  tm_->setOptLevel(level);
  tm_->setFastISel(fastISel);
  if (failed) return support::bail("internal: target cannot emit object files");
  return std::string(buf.data(), buf.size());
}

Expected<void*> Engine::resolve(const std::string& name) {
  auto addr = jit_->lookup(name);
  if (!addr) return addr.takeError();
  return addr->toPtr<void*>();
}

Expected<Engine::Linked> Engine::link(const std::string& object, const std::string& symbol) {
  auto it = linked_.find(symbol);
  // (An owner holds no pointer, only its deleter: test expiry, not the pointer.)
  if (it != linked_.end() && !it->second.expired()) return Linked{addresses_[symbol], it->second.lock()};
  auto rt = jit_->getMainJITDylib().createResourceTracker();
  auto mb = MemoryBuffer::getMemBufferCopy(object, symbol);
  if (auto err = jit_->addObjectFile(rt, std::move(mb))) return std::move(err);
  auto addr = jit_->lookup(symbol);
  if (!addr) {
    consumeError(rt->remove());
    return addr.takeError();
  }
  // The owner frees the code when the last specialization using it dies (its code object was freed).
  std::shared_ptr<void> owner(nullptr, [this, rt, symbol](void*) {
    if (auto err = rt->remove()) consumeError(std::move(err));
    linked_.erase(symbol);
    addresses_.erase(symbol);
  });
  linked_[symbol] = owner;
  addresses_[symbol] = addr->toPtr<void*>();
  if (const char* map = std::getenv("PYPACCEL_PERF_MAP"); map && *map && *map != '0') writePerfMap(object);
  return Linked{addresses_[symbol], owner};
}

// PYPACCEL_PERF_MAP=1: every global function of a linked object, with its address and size, appended to
// /tmp/perf-PID.map, where `perf report` looks up code it has no file for. (Code freed later keeps its lines:
// perf reads the map once the run is over.)
void Engine::writePerfMap(const std::string& object) {
  auto file = object::ObjectFile::createObjectFile(MemoryBufferRef(object, "perf-map"));
  if (!file) {
    consumeError(file.takeError());
    return;
  }
  std::ofstream out("/tmp/perf-" + std::to_string(getpid()) + ".map", std::ios::app);
  for (auto& [sym, size] : object::computeSymbolSizes(**file)) {
    auto type = sym.getType();
    auto flags = sym.getFlags();
    auto name = sym.getName();
    if (!type || !flags || !name || *type != object::SymbolRef::ST_Function ||
        !(*flags & object::SymbolRef::SF_Global)) {
      if (!type) consumeError(type.takeError());
      if (!flags) consumeError(flags.takeError());
      if (!name) consumeError(name.takeError());
      continue;
    }
    auto addr = jit_->lookup(*name);
    if (!addr) {
      consumeError(addr.takeError());
      continue;
    }
    out << std::hex << addr->getValue() << " " << size << std::dec << " " << name->str() << "\n";
  }
}

}  // namespace pypaccel::jit
