// Synthesis top: the block-matching kernel with this project's parameters (params.h).
#include "blockmatch_top.h"

void blockmatch_top(hls::stream<berth_bm::pixel_axis>& s_axis, hls::stream<bm_match_t>& m_axis) {
#pragma HLS INTERFACE mode=axis port=s_axis
#pragma HLS INTERFACE mode=axis port=m_axis
    berth_bm::blockmatch<BM_H, BM_W, BM_N1, BM_WINDOW, BM_STRIDE, BM_K, BM_TAU, BM_SAD>(s_axis, m_axis);
}
