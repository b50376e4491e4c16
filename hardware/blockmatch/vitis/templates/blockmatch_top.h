// Declaration of the synthesis top and its stream types.
#ifndef BERTH_BLOCKMATCH_TOP_H
#define BERTH_BLOCKMATCH_TOP_H

#include "blockmatch.h"
#include "params.h"

typedef berth_bm::match_axis<berth_bm::bit_length(BM_TAU)> bm_match_t;

unsigned blockmatch_top(hls::stream<berth_bm::pixel_axis>& s_axis, hls::stream<bm_match_t>& m_axis,
                        ap_uint<24> tau, ap_uint<24> k, ap_uint<24> width, ap_uint<24> height);

#endif
