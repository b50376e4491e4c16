// C test bench: streams an 8-bit PGM (P5) image through blockmatch_top and writes every match
// record as one text line "ref_y ref_x dy dx dist" (K lines per reference, best first).
// Usage: tb_blockmatch INPUT.pgm OUTPUT.txt   Exit status 0 on success, 1 on any error.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "blockmatch_top.h"

static bool read_pgm(const char* path, std::vector<unsigned char>& pix, int& h, int& w) {
    FILE* f = std::fopen(path, "rb");
    if (!f) return false;
    int maxval = 0;
    char magic[3] = {0, 0, 0};
    bool ok = std::fscanf(f, "%2s", magic) == 1 && magic[0] == 'P' && magic[1] == '5';
    // Skip whitespace and comment lines between header fields.
    int vals[3];
    for (int i = 0; ok && i < 3; i++) {
        int c;
        while ((c = std::fgetc(f)) != EOF && (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '#'))
            if (c == '#') while ((c = std::fgetc(f)) != EOF && c != '\n') {}
        if (c == EOF) { ok = false; break; }
        std::ungetc(c, f);
        ok = std::fscanf(f, "%d", &vals[i]) == 1;
    }
    if (ok) { w = vals[0]; h = vals[1]; maxval = vals[2]; ok = maxval == 255 && w > 0 && h > 0; }
    if (ok) ok = std::fgetc(f) != EOF;  // the single whitespace byte after maxval
    if (ok) {
        pix.resize(static_cast<size_t>(h) * w);
        ok = std::fread(pix.data(), 1, pix.size(), f) == pix.size();
    }
    std::fclose(f);
    return ok;
}

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: %s INPUT.pgm OUTPUT.txt\n", argv[0]); return 1; }
    std::vector<unsigned char> pix;
    int h = 0, w = 0;
    if (!read_pgm(argv[1], pix, h, w)) { std::fprintf(stderr, "%s: not an 8-bit binary PGM (P5, maxval 255)\n", argv[1]); return 1; }
    if (h != BM_H || w != BM_W) {
        std::fprintf(stderr, "%s is %dx%d but the kernel is built for %dx%d\n", argv[1], h, w, BM_H, BM_W);
        return 1;
    }
    hls::stream<berth_bm::pixel_axis> in("pixels");
    hls::stream<bm_match_t> out("matches");
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            berth_bm::pixel_axis p;
            p.data = pix[static_cast<size_t>(y) * w + x];
            p.user = (y == 0 && x == 0);
            p.last = (x == w - 1);
            in.write(p);
        }
    blockmatch_top(in, out);
    FILE* f = std::fopen(argv[2], "w");
    if (!f) { std::fprintf(stderr, "cannot write %s\n", argv[2]); return 1; }
    long records = 0;
    int slot = 0;
    bool ok = true;
    while (!out.empty()) {
        bm_match_t m = out.read();
        std::fprintf(f, "%d %d %d %d %lld\n", m.ref_y.to_int(), m.ref_x.to_int(), m.dy.to_int(), m.dx.to_int(),
                     static_cast<long long>(m.dist.to_uint64()));
        ok = ok && (m.last == (slot == BM_K - 1));
        slot = (slot + 1) % BM_K;
        records++;
    }
    ok = ok && in.empty() && slot == 0 && std::fclose(f) == 0;
    if (!ok) { std::fprintf(stderr, "stream protocol error (TLAST, leftover input or record count)\n"); return 1; }
    std::printf("%ld records, %ld references\n", records, records / BM_K);
    return 0;
}
