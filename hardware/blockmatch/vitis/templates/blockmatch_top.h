// Declaration of the synthesis top and its stream types.
#ifndef BERTH_BLOCKMATCH_TOP_H
#define BERTH_BLOCKMATCH_TOP_H

#include "blockmatch.h"
#include "params.h"

typedef berth_bm::match_axis<berth_bm::bit_length(BM_TAU)> bm_match_t;

void blockmatch_top(hls::stream<berth_bm::pixel_axis>& s_axis, hls::stream<bm_match_t>& m_axis);

#endif
