// C test bench: streams pixels through blockmatch_top and writes every match record as one text
// line "ref_y ref_x dy dx dist" (K lines per reference, best first), each call's records after a
// comment line "# call I status S" (S: bit 0 frame done, bit 1 frame error).
// Usage: tb_blockmatch INPUT OUTPUT.txt   Exit status 0 on success, 1 on any error.
// INPUT is either an 8-bit binary PGM (P5), one well-formed frame matched with the synthesis
// tau and K and the image's size as run-time width and height, or a beat script:
//   berth-bm-stream CALLS BEATS
//   tau k width height        (CALLS lines: the registers written before each call)
//   data user last            (BEATS lines: the input stream, TDATA TUSER TLAST per beat)
// The calls run in order until the input is used up.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "blockmatch_top.h"

struct call_regs { long tau, k, width, height; };
struct beat { int data, user, last; };

static bool read_pgm(FILE* f, std::vector<beat>& beats, int& h, int& w) {
    int vals[3];
    bool ok = true;
    for (int i = 0; ok && i < 3; i++) {  // skip whitespace and comment lines between header fields
        int c;
        while ((c = std::fgetc(f)) != EOF && (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '#'))
            if (c == '#') while ((c = std::fgetc(f)) != EOF && c != '\n') {}
        if (c == EOF) { ok = false; break; }
        std::ungetc(c, f);
        ok = std::fscanf(f, "%d", &vals[i]) == 1;
    }
    if (ok) { w = vals[0]; h = vals[1]; ok = vals[2] == 255 && w > 0 && h > 0; }
    if (ok) ok = std::fgetc(f) != EOF;  // the single whitespace byte after maxval
    if (!ok) return false;
    std::vector<unsigned char> pix(static_cast<size_t>(h) * w);
    if (std::fread(pix.data(), 1, pix.size(), f) != pix.size()) return false;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) beats.push_back({pix[static_cast<size_t>(y) * w + x], y == 0 && x == 0, x == w - 1});
    return true;
}

static bool read_script(FILE* f, std::vector<call_regs>& calls, std::vector<beat>& beats) {
    long n_calls = 0, n_beats = 0;
    if (std::fscanf(f, "%ld %ld", &n_calls, &n_beats) != 2 || n_calls < 0 || n_beats < 0) return false;
    for (long i = 0; i < n_calls; i++) {
        call_regs r;
        if (std::fscanf(f, "%ld %ld %ld %ld", &r.tau, &r.k, &r.width, &r.height) != 4) return false;
        calls.push_back(r);
    }
    for (long i = 0; i < n_beats; i++) {
        beat b;
        if (std::fscanf(f, "%d %d %d", &b.data, &b.user, &b.last) != 3) return false;
        beats.push_back(b);
    }
    return true;
}

// Read INPUT: a PGM gives one call with the synthesis tau and K and the image's size.
static bool read_input(const char* path, std::vector<call_regs>& calls, std::vector<beat>& beats) {
    FILE* f = std::fopen(path, "rb");
    if (!f) return false;
    char magic[20] = {0};
    bool ok = std::fscanf(f, "%19s", magic) == 1;
    if (ok && std::strcmp(magic, "P5") == 0) {
        int h = 0, w = 0;
        ok = read_pgm(f, beats, h, w);
        if (ok && (w > BM_W || h < BM_N1 || w < BM_N1 || h > 65535)) {
            std::fprintf(stderr, "%s is %dx%d; the kernel takes %d..65535 rows of %d..%d pixels\n", path, h, w,
                         BM_N1, BM_N1, BM_W);
            ok = false;
        }
        calls.push_back({static_cast<long>(BM_TAU), BM_K, w, h});
    } else {
        ok = ok && std::strcmp(magic, "berth-bm-stream") == 0 && read_script(f, calls, beats);
    }
    std::fclose(f);
    return ok;
}

static ap_uint<24> reg(long v) { return ap_uint<24>(v < 0 ? 0 : v > 0xFFFFFF ? 0xFFFFFF : v); }

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: %s INPUT OUTPUT.txt\n", argv[0]); return 1; }
    std::vector<call_regs> calls;
    std::vector<beat> beats;
    if (!read_input(argv[1], calls, beats)) {
        std::fprintf(stderr, "%s: not an 8-bit binary PGM (P5, maxval 255) nor a berth-bm-stream script\n", argv[1]);
        return 1;
    }
    hls::stream<berth_bm::pixel_axis> in("pixels");
    hls::stream<bm_match_t> out("matches");
    for (const beat& b : beats) {
        berth_bm::pixel_axis p;
        p.data = b.data;
        p.user = b.user;
        p.last = b.last;
        in.write(p);
    }
    FILE* f = std::fopen(argv[2], "w");
    if (!f) { std::fprintf(stderr, "cannot write %s\n", argv[2]); return 1; }
    long records = 0;
    bool ok = true;
    for (size_t i = 0; i < calls.size() && !in.empty(); i++) {
        const call_regs& r = calls[i];
        const unsigned status = blockmatch_top(in, out, reg(r.tau), reg(r.k), reg(r.width), reg(r.height));
        std::fprintf(f, "# call %zu status %u\n", i, status);
        long slot = 0, group = 0;  // every reference of a call has the same number of records
        while (!out.empty()) {
            bm_match_t m = out.read();
            std::fprintf(f, "%d %d %d %d %lld\n", m.ref_y.to_int(), m.ref_x.to_int(), m.dy.to_int(), m.dx.to_int(),
                         static_cast<long long>(m.dist.to_uint64()));
            slot++;
            records++;
            if (m.last) {
                ok = ok && (group == 0 || slot == group);
                group = slot;
                slot = 0;
            }
        }
        ok = ok && slot == 0;
    }
    ok = ok && std::fclose(f) == 0;
    if (!ok) { std::fprintf(stderr, "stream protocol error (TLAST or record count)\n"); return 1; }
    std::printf("%ld records, %zu input beats left\n", records, static_cast<size_t>(in.size()));
    return 0;
}
