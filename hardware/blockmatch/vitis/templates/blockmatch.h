// Block matching for BM3D as a Vitis HLS kernel: implements docs/blockmatch.md bit for bit.
//
// One call takes one frame. Pixels arrive in raster order on an AXI4-Stream: TUSER marks the
// first pixel of a frame, TLAST the last pixel of each row, with the RTL core's meaning. Pixels
// before a start of frame are dropped; a start of frame inside the frame, or an end of line
// missing or early, abandons the frame (status bit 1), and the next call starts at the next
// start of frame (at once when a start of frame was what revealed the error). Four run-time
// registers (tau, K, width, height; AXI4-Lite in the synthesis top) are taken when a frame
// starts; a value outside its range is ignored, and after reset they hold the template values.
//
// Rows are written into L = WIN + N1 - 1 full-row line buffers. When the last row a reference
// row needs has arrived, every reference block of that row is matched: the candidates of one
// offset row dy are swept left to right through an N1 x N1 shift-register window (one new
// column per cycle, PIPELINE II=1), each complete window gives one distance, and candidates
// with d < tau enter a sorted insertion list of K-1 slots keyed by (distance, scan index).
// Because candidates arrive in scan order and a new entry goes behind equal distances, the
// tie-break is the spec's. K records (dy, dx, distance) per reference leave on the output
// stream, TLAST on the last slot. Input is stalled while a reference row is being matched (one
// distance per cycle, no P-way parallelism): this kernel is the bit-exact HLS reference, not
// the throughput-optimised core.
#ifndef BERTH_BLOCKMATCH_H
#define BERTH_BLOCKMATCH_H

#include <ap_int.h>
#include <hls_stream.h>

namespace berth_bm {

constexpr int bit_length(long long v) { return v == 0 ? 0 : 1 + bit_length(v >> 1); }
constexpr int cmax(int a, int b) { return a > b ? a : b; }
constexpr int cmin(int a, int b) { return a < b ? a : b; }

// One pixel beat: TDATA, TUSER (start of frame), TLAST (end of row).
struct pixel_axis {
    ap_uint<8> data;
    ap_uint<1> user;
    ap_uint<1> last;
};

// One match record: offsets, distance (DW bits, SAT = 2^DW - 1 in unused slots), reference
// position, and TLAST on the last of the K slots of a reference.
template <int DW>
struct match_axis {
    ap_int<8> dy;
    ap_int<8> dx;
    ap_uint<DW> dist;
    ap_uint<16> ref_y;
    ap_uint<16> ref_x;
    ap_uint<1> last;
};

// Status of one call: FRAME_DONE when a frame's records were all written, FRAME_ERROR when a
// malformed frame was abandoned or pixels outside a frame were dropped (both may be set).
constexpr unsigned FRAME_DONE = 1;
constexpr unsigned FRAME_ERROR = 2;

// The run-time registers as taken at the start of a frame.
struct frame_cfg {
    int tau;     // 1 .. TAU
    int k;       // power of two, 2 .. K
    int width;   // N1 .. W
    int height;  // N1 .. 65535
};

// Register writes: a value outside its range leaves the register as it was.
template <int H, int W, int N1, int K, long long TAU>
void write_registers(frame_cfg& cfg, ap_uint<24> tau, ap_uint<24> k, ap_uint<24> width, ap_uint<24> height) {
#pragma HLS INLINE
    if (tau >= 1 && tau <= TAU) cfg.tau = tau.to_int();
    if (k >= 2 && k <= K && (k & (k - 1)) == 0) cfg.k = k.to_int();
    if (width >= N1 && width <= W) cfg.width = width.to_int();
    if (height >= N1 && height <= 65535) cfg.height = height.to_int();
}

// The reference grid along one axis: 0, S, 2S, ... up to len - N1, plus len - N1 (forced).
template <int N1, int S>
int next_ref(int r, int len) {
#pragma HLS INLINE
    return r + S <= len - N1 ? r + S : len - N1;
}

template <int W, int N1, int WIN, int S, int K, long long TAU, bool SAD>
void match_row(int y, const frame_cfg& cfg, ap_uint<8> lb[WIN + N1 - 1][W],
               hls::stream<match_axis<bit_length(TAU)> >& out) {
#pragma HLS INLINE off
    constexpr int R = WIN / 2;
    constexpr int L = WIN + N1 - 1;
    constexpr int DW = bit_length(TAU);
    constexpr int KM = K - 1;
    const ap_uint<DW> EMPTY = (ap_uint<DW + 1>(1) << DW) - 1;  // above every distance < tau
    typedef ap_uint<24> dist_t;
    const int h = cfg.height, w = cfg.width;
    ap_uint<DW> sat = 0;  // 2^bit_length(tau) - 1
    for (int b = 0; b < DW; b++) {
#pragma HLS UNROLL
        sat[b] = (cfg.tau >> b) != 0;
    }

    ap_uint<8> ref[N1][N1];
#pragma HLS ARRAY_PARTITION variable=ref complete dim=0
    ap_uint<8> win[N1][N1];
#pragma HLS ARRAY_PARTITION variable=win complete dim=0
    ap_uint<DW> list_d[KM];
    ap_int<8> list_dy[KM];
    ap_int<8> list_dx[KM];
#pragma HLS ARRAY_PARTITION variable=list_d complete
#pragma HLS ARRAY_PARTITION variable=list_dy complete
#pragma HLS ARRAY_PARTITION variable=list_dx complete
    int rows[N1];
#pragma HLS ARRAY_PARTITION variable=rows complete

    REFS: for (int x = 0; x <= w - N1; ) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=(W - N1) / S + 2
        LOAD: for (int j = 0; j < N1; j++) {
#pragma HLS PIPELINE II=1
            for (int i = 0; i < N1; i++) ref[i][j] = lb[(y + i) % L][x + j];
        }
        CLEAR: for (int k = 0; k < KM; k++) {
#pragma HLS UNROLL
            list_d[k] = EMPTY; list_dy[k] = 0; list_dx[k] = 0;
        }
        const int dy0 = -cmin(R, y), dy1 = cmin(R, h - N1 - y);
        const int dx0 = -cmin(R, x), dx1 = cmin(R, w - N1 - x);
        DY: for (int dy = dy0; dy <= dy1; dy++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=WIN
            for (int i = 0; i < N1; i++) {
#pragma HLS UNROLL
                rows[i] = (y + dy + i + L) % L;
            }
            SWEEP: for (int c = 0; c < dx1 - dx0 + N1; c++) {
#pragma HLS LOOP_TRIPCOUNT min=N1 max=WIN + N1 - 1
#pragma HLS PIPELINE II=1
                for (int i = 0; i < N1; i++) {
#pragma HLS UNROLL
                    for (int j = 0; j < N1 - 1; j++) win[i][j] = win[i][j + 1];
                    win[i][N1 - 1] = lb[rows[i]][x + dx0 + c];
                }
                if (c < N1 - 1) continue;
                const int dx = dx0 + c - (N1 - 1);
                dist_t d = 0;
                for (int i = 0; i < N1; i++) {
#pragma HLS UNROLL
                    for (int j = 0; j < N1; j++) {
#pragma HLS UNROLL
                        ap_int<9> e = ap_int<9>(ref[i][j]) - ap_int<9>(win[i][j]);
                        ap_uint<8> a = e < 0 ? ap_uint<8>(-e) : ap_uint<8>(e);
                        d += SAD ? dist_t(a) : dist_t(a * a);
                    }
                }
                if ((dy == 0 && dx == 0) || d >= dist_t(cfg.tau)) continue;
                // Insert behind every entry with distance <= d (ties keep scan order).
                INSERT: for (int k = KM - 1; k >= 0; k--) {
#pragma HLS UNROLL
                    const bool above = list_d[k] > d;
                    const bool prev_above = k > 0 && list_d[k - 1] > d;
                    if (above) {
                        list_d[k] = prev_above ? list_d[k - 1] : ap_uint<DW>(d);
                        list_dy[k] = prev_above ? list_dy[k - 1] : ap_int<8>(dy);
                        list_dx[k] = prev_above ? list_dx[k - 1] : ap_int<8>(dx);
                    }
                }
            }
        }
        int found = 1;  // the reference and the kept matches that fit in the run-time K
        for (int k = 0; k < KM; k++) {
#pragma HLS UNROLL
            found += list_d[k] != EMPTY && k + 2 <= cfg.k;
        }
        int count = 1;
        while (2 * count <= found) count *= 2;
        EMIT: for (int k = 0; k < cfg.k; k++) {
#pragma HLS LOOP_TRIPCOUNT min=2 max=K
#pragma HLS PIPELINE II=1
            match_axis<DW> m;
            const bool used = k > 0 && k < count;
            m.dy = used ? list_dy[k - 1] : ap_int<8>(0);
            m.dx = used ? list_dx[k - 1] : ap_int<8>(0);
            m.dist = k == 0 ? ap_uint<DW>(0) : used ? list_d[k - 1] : sat;
            m.ref_y = y;
            m.ref_x = x;
            m.last = k == cfg.k - 1;
            out.write(m);
        }
        x = (x == w - N1) ? w : next_ref<N1, S>(x, w);
    }
}

// The kernel: registers written, then one frame (from its start of frame) in, one K-record group
// per reference block out. Returns FRAME_DONE and/or FRAME_ERROR.
template <int H, int W, int N1, int WIN, int S, int K, long long TAU, bool SAD>
unsigned blockmatch(hls::stream<pixel_axis>& in, hls::stream<match_axis<bit_length(TAU)> >& out,
                    ap_uint<24> tau, ap_uint<24> k, ap_uint<24> width, ap_uint<24> height) {
    static_assert(N1 == 4 || N1 == 8, "block size N1 must be 4 or 8");
    static_assert(WIN % 2 == 1 && WIN >= 3 && WIN <= 63, "window must be odd, 3..63");
    static_assert(K >= 2 && K <= 32 && (K & (K - 1)) == 0, "K must be a power of two, 2..32");
    static_assert(S >= 1 && S <= 16, "stride must be 1..16");
    static_assert(TAU >= 1 && TAU <= (1LL << 23), "tau must be 1..2^23");
    static_assert(H >= N1 && W >= N1 && H < 65536 && W < 65536, "frame must hold a block");
    constexpr int R = WIN / 2;
    constexpr int L = WIN + N1 - 1;
    static ap_uint<8> lb[L][W];
#pragma HLS ARRAY_PARTITION variable=lb complete dim=1
    static frame_cfg regs = {static_cast<int>(TAU), K, W, H};
    static bool pending = false;   // a start of frame ended the last call: its frame starts now
    static ap_uint<8> pending_data = 0;
    static bool dropping = false;  // pixels outside a frame are being dropped (flagged once)
    unsigned status = 0;

    write_registers<H, W, N1, K, TAU>(regs, tau, k, width, height);
    ap_uint<8> first = pending_data;
    SEEK: while (!pending) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=1
#ifndef __SYNTHESIS__
        if (in.empty()) return status;  // C simulation: the input ran out outside a frame
#endif
        const pixel_axis p = in.read();
        if (p.user && !p.last) {
            first = p.data;
            break;
        }
        if (!p.user && !dropping) status |= FRAME_ERROR;
        dropping = true;
    }
    pending = false;
    dropping = false;
    const frame_cfg cfg = regs;
    int ref_y = 0;  // next reference row; height when all are done
    ROWS: for (int r = 0; r < cfg.height; r++) {
#pragma HLS LOOP_TRIPCOUNT min=N1 max=H
        READ: for (int c = 0; c < cfg.width; c++) {
#pragma HLS LOOP_TRIPCOUNT min=N1 max=W
#pragma HLS PIPELINE II=1
            ap_uint<8> data = first;
            if (r > 0 || c > 0) {
                const pixel_axis p = in.read();
                if (p.user || p.last != (c == cfg.width - 1)) {  // malformed: abandon the frame
                    pending = p.user && !p.last;
                    pending_data = p.data;
                    dropping = !pending;
                    return status | FRAME_ERROR;
                }
                data = p.data;
            }
            lb[r % L][c] = data;
        }
        // A reference row y needs rows up to min(y + R + N1 - 1, height - 1).
        REFROWS: while (ref_y <= cfg.height - N1 && cmin(ref_y + R + N1 - 1, cfg.height - 1) <= r) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=(R + N1) / S + 2
            match_row<W, N1, WIN, S, K, TAU, SAD>(ref_y, cfg, lb, out);
            ref_y = (ref_y == cfg.height - N1) ? cfg.height : next_ref<N1, S>(ref_y, cfg.height);
        }
    }
    return status | FRAME_DONE;
}

}  // namespace berth_bm

#endif
