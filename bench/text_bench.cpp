// Throughput of xsock::text on realistic GBK text (the Chinese TCP tutorial: Chinese
// prose mixed with ASCII code lines), next to glibc iconv(3) on the same input in the
// same run. Decoding is streamed in recv()-sized reads, as the server does.
//
// Each benchmark reports "GBK" (GBK bytes per second, SI units). At the end the program
// prints MB/s and the fast-path/iconv and ICU/iconv ratios from this run (medians with
// --benchmark_repetitions=N).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "xsock/decoder.hpp"
#include "xsock/encoder.hpp"

#ifdef XSOCK_HAVE_ICONV
#include <iconv.h>

#include <cerrno>
#endif

extern const unsigned char sample_text_data[];
extern const std::size_t sample_text_size;

namespace {

constexpr std::size_t read_size = 4096;
constexpr std::size_t corpus_size = 1 << 20;

struct corpus {
  std::string utf8;                // the text, repeated to about 1 MiB
  std::string gbk;                 // its GBK bytes
  std::vector<std::string> lines;  // UTF-8 lines: the client's messages
};

const corpus& sample() {
  static const corpus c = [] {
    corpus k;
    const std::string_view text(reinterpret_cast<const char*>(sample_text_data), sample_text_size);
    // A few characters of the tutorial (», ©) are not in GBK: substitute them once.
    xsock::encoder to_gbk("GBK", xsock::encode_policy::replace);
    const std::string gbk_once = to_gbk.encode(text);
    xsock::decoder back("GBK");
    const std::string utf8_once = back.decode(gbk_once) + back.finish();
    while (k.gbk.size() < corpus_size) {
      k.gbk += gbk_once;
      k.utf8 += utf8_once;
    }
    std::size_t start = 0;
    while (start < k.utf8.size()) {
      std::size_t end = k.utf8.find('\n', start);
      if (end == std::string::npos) end = k.utf8.size();
      k.lines.push_back(k.utf8.substr(start, end - start + 1));
      start = end + 1;
    }
    return k;
  }();
  return c;
}

void set_rate(benchmark::State& state, std::size_t bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes_per_iteration));
  // GBK bytes per second in SI units (the bytes_per_second column is binary, MiB/s).
  state.counters["GBK"] = benchmark::Counter(static_cast<double>(bytes_per_iteration),
                                             benchmark::Counter::kIsIterationInvariantRate,
                                             benchmark::Counter::OneK::kIs1000);
}

void decode_streaming(benchmark::State& state, xsock::decoder_backend backend) {
  const corpus& c = sample();
  xsock::decoder d("GBK", xsock::decode_policy::replace, backend);
  std::string out;
  out.reserve(c.utf8.size() + 64);
  for (auto _ : state) {
    out.clear();
    for (std::size_t at = 0; at < c.gbk.size(); at += read_size) {
      d.decode(std::string_view(c.gbk).substr(at, read_size), out);
    }
    d.finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out != c.utf8) state.SkipWithError("decoder output differs from the text");
  set_rate(state, c.gbk.size());
}

void BM_decode_gbk_fast(benchmark::State& state) {
  decode_streaming(state, xsock::decoder_backend::automatic);
}
void BM_decode_gbk_icu(benchmark::State& state) {
  decode_streaming(state, xsock::decoder_backend::icu);
}

void BM_encode_gbk_strict_lines(benchmark::State& state) {
  const corpus& c = sample();
  xsock::encoder e("GBK");
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const auto& line : c.lines)
      e.encode(line, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out != c.gbk) state.SkipWithError("encoder output differs from the GBK bytes");
  set_rate(state, c.gbk.size());
}

#ifdef XSOCK_HAVE_ICONV
// Streams like the decoder: an incomplete sequence at the end of a read (EINVAL) is
// carried into the next read.
void BM_decode_gbk_iconv(benchmark::State& state) {
  const corpus& c = sample();
  iconv_t cd = iconv_open("UTF-8", "GBK");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    state.SkipWithError("iconv has no GBK");
    return;
  }
  std::string out(c.utf8.size() + 64, '\0');
  std::size_t produced = 0;
  for (auto _ : state) {
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
    char* dst = &out[0];
    std::size_t dst_left = out.size();
    char carry[8];
    std::size_t carry_len = 0;
    for (std::size_t at = 0; at < c.gbk.size(); at += read_size) {
      const std::size_t n = std::min(read_size, c.gbk.size() - at);
      const char* read = c.gbk.data() + at;
      if (carry_len) {
        // Complete the carried sequence with the first byte of this read.
        carry[carry_len++] = read[0];
        char* src = carry;
        std::size_t left = carry_len;
        iconv(cd, &src, &left, &dst, &dst_left);
        carry_len = 0;
        ++read;
        if (n == 1) continue;
        char* src2 = const_cast<char*>(read);
        std::size_t left2 = n - 1;
        if (iconv(cd, &src2, &left2, &dst, &dst_left) == static_cast<std::size_t>(-1) &&
            errno == EINVAL) {
          std::memcpy(carry, src2, left2);
          carry_len = left2;
        }
        continue;
      }
      char* src = const_cast<char*>(read);
      std::size_t left = n;
      if (iconv(cd, &src, &left, &dst, &dst_left) == static_cast<std::size_t>(-1) &&
          errno == EINVAL) {
        std::memcpy(carry, src, left);
        carry_len = left;
      }
    }
    produced = out.size() - dst_left;
    benchmark::DoNotOptimize(out.data());
  }
  iconv_close(cd);
  if (std::string_view(out.data(), produced) != c.utf8) {
    state.SkipWithError("iconv output differs from the text");
  }
  set_rate(state, c.gbk.size());
}

void BM_encode_gbk_iconv_lines(benchmark::State& state) {
  const corpus& c = sample();
  iconv_t cd = iconv_open("GBK", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    state.SkipWithError("iconv has no GBK");
    return;
  }
  std::string out(c.gbk.size() + 64, '\0');
  std::size_t produced = 0;
  for (auto _ : state) {
    char* dst = &out[0];
    std::size_t dst_left = out.size();
    for (const auto& line : c.lines) {
      iconv(cd, nullptr, nullptr, nullptr, nullptr);
      char* src = const_cast<char*>(line.data());
      std::size_t left = line.size();
      iconv(cd, &src, &left, &dst, &dst_left);
    }
    produced = out.size() - dst_left;
    benchmark::DoNotOptimize(out.data());
  }
  iconv_close(cd);
  if (std::string_view(out.data(), produced) != c.gbk) {
    state.SkipWithError("iconv output differs from the GBK bytes");
  }
  set_rate(state, c.gbk.size());
}
#endif

BENCHMARK(BM_decode_gbk_fast);
BENCHMARK(BM_decode_gbk_icu);
BENCHMARK(BM_encode_gbk_strict_lines);
#ifdef XSOCK_HAVE_ICONV
BENCHMARK(BM_decode_gbk_iconv);
BENCHMARK(BM_encode_gbk_iconv_lines);
#endif

// Keeps each benchmark's rate (the median over repetitions) so the ratios of this
// very run can be printed.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      auto it = run.counters.find("GBK");
      if (it != run.counters.end() && !run.error_occurred && run.run_type == Run::RT_Iteration) {
        rates_[run.run_name.function_name].push_back(it->second.value / 1e6);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void print_ratios() const {
    auto rate = [this](const char* name) {
      auto it = rates_.find(name);
      if (it == rates_.end() || it->second.empty()) return 0.0;
      std::vector<double> v = it->second;
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double iconv = rate("BM_decode_gbk_iconv");
    if (iconv <= 0) {
      std::printf("\n(no iconv in this build: no ratios)\n");
      return;
    }
    std::printf("\nGBK decode, same input, this run (MB/s = 10^6 GBK bytes/s, median):\n");
    std::printf("  fast path %8.1f MB/s  %5.2fx iconv\n", rate("BM_decode_gbk_fast"),
                rate("BM_decode_gbk_fast") / iconv);
    std::printf("  ICU       %8.1f MB/s  %5.2fx iconv\n", rate("BM_decode_gbk_icu"),
                rate("BM_decode_gbk_icu") / iconv);
    std::printf("  iconv     %8.1f MB/s\n", iconv);
    const double iconv_enc = rate("BM_encode_gbk_iconv_lines");
    if (iconv_enc > 0) {
      std::printf("GBK encode (strict, line by line):\n");
      std::printf("  xsock     %8.1f MB/s  %5.2fx iconv\n", rate("BM_encode_gbk_strict_lines"),
                  rate("BM_encode_gbk_strict_lines") / iconv_enc);
      std::printf("  iconv     %8.1f MB/s\n", iconv_enc);
    }
  }

 private:
  std::map<std::string, std::vector<double>> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
