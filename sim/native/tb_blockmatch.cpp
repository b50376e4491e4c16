// Native Verilator test bench for rtl/blockmatch.sv (no Python in the loop).
//
// Usage: tb_blockmatch IMAGE.pgm RECORDS OUT.txt [MAX_CYCLES [FRAMES]]
// Streams the binary (P5) 8-bit PGM frame FRAMES times (default 1) back to back in raster order
// (s_user on the first pixel, s_last on the last pixel of each row) with no input gaps and no
// output back-pressure, collects RECORDS output records per frame and writes one line per record:
// "ref_y ref_x dy dx dist" with dy and dx as the raw (two's complement) field values.
// Prints "cycles <n>" (from the first pixel offered to the last record accepted) and
// "frame_cycles <n1> <n2> ..." (the same count at each frame's last record) on stdout.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "Vblockmatch.h"
#include "verilated.h"

static std::vector<uint8_t> read_pgm(const char* path, int& width) {
    std::ifstream f(path, std::ios::binary);
    std::string magic;
    int w = 0, h = 0, maxval = 0;
    f >> magic >> w >> h >> maxval;
    f.get();
    if (!f || magic != "P5" || maxval != 255 || w <= 0 || h <= 0) {
        std::fprintf(stderr, "tb_blockmatch: %s is not an 8-bit binary PGM\n", path);
        std::exit(2);
    }
    width = w;
    std::vector<uint8_t> px(static_cast<size_t>(w) * h);
    f.read(reinterpret_cast<char*>(px.data()), static_cast<std::streamsize>(px.size()));
    if (!f) {
        std::fprintf(stderr, "tb_blockmatch: %s is truncated\n", path);
        std::exit(2);
    }
    return px;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s IMAGE.pgm RECORDS OUT.txt [MAX_CYCLES [FRAMES]]\n", argv[0]);
        return 2;
    }
    int width = 0;
    const std::vector<uint8_t> px = read_pgm(argv[1], width);
    const long per_frame = std::atol(argv[2]);
    const long long max_cycles = argc > 4 ? std::atoll(argv[4]) : 2000000000LL;
    const long frames = argc > 5 ? std::atol(argv[5]) : 1;
    const long records = per_frame * frames;
    const size_t pixels = px.size() * static_cast<size_t>(frames);
    std::vector<long long> frame_cycles;
    FILE* out = std::fopen(argv[3], "w");
    if (!out) {
        std::perror(argv[3]);
        return 2;
    }

    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vblockmatch>(ctx.get());
    auto tick = [&]() {
        top->clk = 0;
        top->eval();
        top->clk = 1;
        top->eval();
    };
    top->rst = 1;
    top->s_valid = 0;
    top->s_user = 0;
    top->s_last = 0;
    top->cfg_valid = 0;
    top->cfg_addr = 0;
    top->cfg_data = 0;
    top->m_ready = 0;
    for (int i = 0; i < 4; ++i) tick();
    top->rst = 0;
    top->m_ready = 1;

    size_t next = 0;
    long got = 0;
    long long cycles = 0;
    while (got < records && cycles < max_cycles) {
        top->clk = 0;
        top->s_valid = next < pixels;
        top->s_data = next < pixels ? px[next % px.size()] : 0;
        top->s_user = next % px.size() == 0;
        top->s_last = next % width == static_cast<size_t>(width - 1);
        top->eval();  // handshakes settle before the rising edge
        const bool in_fire = top->s_valid && top->s_ready;
        if (top->m_valid) {
            std::fprintf(out, "%u %u %u %u %u\n", (unsigned)top->m_ref_y, (unsigned)top->m_ref_x,
                         (unsigned)top->m_dy, (unsigned)top->m_dx, (unsigned)top->m_dist);
            ++got;
            if (got % per_frame == 0) frame_cycles.push_back(cycles + 1);
        }
        top->clk = 1;
        top->eval();
        if (in_fire) ++next;
        ++cycles;
    }
    std::fclose(out);
    top->final();
    std::printf("cycles %lld\nrecords %ld\npixels %zu\nframe_cycles", cycles, got, next);
    for (long long c : frame_cycles) std::printf(" %lld", c);
    std::printf("\n");
    if (got < records) {
        std::fprintf(stderr, "tb_blockmatch: only %ld of %ld records after %lld cycles\n", got, records, cycles);
        return 1;
    }
    return 0;
}
