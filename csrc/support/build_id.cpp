#include "support/build_id.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <cstdint>
#include <cstring>

namespace pypaccel::support {
namespace {

struct Search {
  uintptr_t address;  // some code of ours: the loaded object whose segment contains it is the one we want
  std::string hex;
  bool found = false;
};

bool containsAddress(const dl_phdr_info* info, uintptr_t address) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && address >= start && address < start + ph.p_memsz) return true;
  }
  return false;
}

// Notes are (namesz, descsz, type, name padded to 4, desc padded to 4), one after the other.
bool readBuildIdNote(const char* p, size_t size, std::string* hex) {
  size_t pos = 0;
  auto align4 = [](size_t n) { return (n + 3) & ~size_t(3); };
  while (pos + sizeof(ElfW(Nhdr)) <= size) {
    ElfW(Nhdr) nh;
    std::memcpy(&nh, p + pos, sizeof nh);
    size_t name = pos + sizeof nh;
    size_t desc = name + align4(nh.n_namesz);
    size_t next = desc + align4(nh.n_descsz);
    if (next > size || desc + nh.n_descsz > size) return false;
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && std::memcmp(p + name, "GNU", 4) == 0) {
      static const char kDigits[] = "0123456789abcdef";
      for (size_t i = 0; i < nh.n_descsz; ++i) {
        auto byte = static_cast<unsigned char>(p[desc + i]);
        hex->push_back(kDigits[byte >> 4]);
        hex->push_back(kDigits[byte & 15]);
      }
      return true;
    }
    pos = next;
  }
  return false;
}

int visit(dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  if (!containsAddress(info, search->address)) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* notes = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    if (readBuildIdNote(notes, ph.p_memsz, &search->hex)) break;
  }
  search->found = true;
  return 1;  // stop: this is our object, with or without a build ID
}

}  // namespace

const std::string& ownBuildId() {
  static const std::string id = [] {
    Search search{reinterpret_cast<uintptr_t>(&visit), {}};
    dl_iterate_phdr(&visit, &search);
    return search.hex;
  }();
  return id;
}

}  // namespace pypaccel::support
