// Synthesis top: the block-matching kernel with this project's parameters (params.h). The pixel
// and record streams are AXI4-Stream; the four run-time registers and the status (return value:
// bit 0 frame done, bit 1 frame error) are AXI4-Lite registers.
#include "blockmatch_top.h"

unsigned blockmatch_top(hls::stream<berth_bm::pixel_axis>& s_axis, hls::stream<bm_match_t>& m_axis,
                        ap_uint<24> tau, ap_uint<24> k, ap_uint<24> width, ap_uint<24> height) {
#pragma HLS INTERFACE mode=axis port=s_axis
#pragma HLS INTERFACE mode=axis port=m_axis
#pragma HLS INTERFACE mode=s_axilite port=tau bundle=ctrl
#pragma HLS INTERFACE mode=s_axilite port=k bundle=ctrl
#pragma HLS INTERFACE mode=s_axilite port=width bundle=ctrl
#pragma HLS INTERFACE mode=s_axilite port=height bundle=ctrl
#pragma HLS INTERFACE mode=s_axilite port=return bundle=ctrl
    return berth_bm::blockmatch<BM_H, BM_W, BM_N1, BM_WINDOW, BM_STRIDE, BM_K, BM_TAU, BM_SAD>(
        s_axis, m_axis, tau, k, width, height);
}
