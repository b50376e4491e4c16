// Stream-based block matcher for BM3D (spec: docs/blockmatch.md).
//
// Pixels arrive in raster order on s_valid/s_ready/s_data and are kept in L full-row line
// buffers (one memory per row, inferred as block RAM; port B reads candidates, port A writes
// the incoming row or reads the reference rows, which are never the row being written).
//
// References are matched in groups of G consecutive references of a reference row. Work that
// overlapping references share is computed once: for one offset (dy, dx) the column sum
// CS(a) = sum_i f(P[y+i][a] - P[y+dy+i][a+dx]) of image column a is the same for every
// reference of the group whose block covers column a, so each lane computes one column sum per
// cycle and a running sum of the last N column sums gives the block distance of the reference
// that starts N-1 columns back. A pass streams the group's S = x_last - x0 + N reference columns
// against P offset rows (dy) x D offset columns (dx) at once, in S + D - 1 cycles; passes and
// groups run back to back (bands of P rows, blocks of D columns), a reference row after two
// cycles of settling. Distances below TAU are sorted and merged into one top-K list per group
// reference, keyed by (distance, dy, dx), by shared merge engines. When a group's last distance
// is in, its lists move to the output buffer, which emits K records (dy, dx, distance) per
// reference while the next group is searched; a group's last pass waits only while the previous
// group is still being emitted. The pipeline (13 stages to the output buffer) is laid out for
// 250 MHz on a 7-series part: see docs/blockmatch.md.
//
// Define BM_PLANTED_BUG to drop the bottom row's term of every column sum (used to prove that
// the test bench catches a wrong design).
// Pipeline registers are flat vectors, one stage after another (Yosys 0.23 rejects
// multi-dimensional packed arrays): BM_STAGES declares stages FIRST..LAST of SW bits each,
// BM_STAGE selects stage s, BM_ELEM element i (EW bits) of stage s, BM_BIT its bit i.
`define BM_STAGES(SW, FIRST, LAST) [(SW)*((LAST)-(FIRST)+1)-1:0]
`define BM_STAGE(v, SW, s, FIRST) v[(SW)*((s)-(FIRST)) +: (SW)]
`define BM_ELEM(v, SW, s, FIRST, EW, i) v[(SW)*((s)-(FIRST)) + (EW)*(i) +: (EW)]
`define BM_BIT(v, SW, s, FIRST, i) v[(SW)*((s)-(FIRST)) + (i)]

module blockmatch #(
    parameter int W = 64,          // frame width (pixels): the largest; the run-time width may be less
    parameter int H = 64,          // frame height (rows) at reset
    parameter int N = 8,           // block side N1 (4 or 8)
    parameter int WS = 39,         // search window side 2n+1 (odd)
    parameter int STRIDE = 3,      // reference stride; the last row/column is forced
    parameter int METRIC = 0,      // 0: SSD, 1: SAD
    parameter int K = 16,          // largest group size (power of two); slot 0 is the reference
    parameter int TAU = 192000,    // largest threshold (keep distance < tau), the one at reset
    parameter int P = 4,           // offset rows (dy) per pass
    parameter int D = 2,           // offset columns (dx) per pass
    parameter int G = 2            // references per group
) (
    input  logic clk,
    input  logic rst,                  // synchronous, active high
    input  logic s_valid,
    output logic s_ready,
    input  logic [7:0] s_data,
    input  logic s_user,               // start of frame: the first pixel of a frame
    input  logic s_last,               // end of line: the last pixel of a row
    input  logic cfg_valid,            // register write: 0 tau, 1 K, 2 width, 3 height (next frame)
    input  logic [1:0] cfg_addr,
    input  logic [23:0] cfg_data,
    output logic frame_error,          // one cycle: a malformed frame was abandoned or pixels dropped
    output logic m_valid,
    input  logic m_ready,
    output logic [OW-1:0] m_dy,        // signed offsets of the match
    output logic [OW-1:0] m_dx,
    output logic [DW-1:0] m_dist,      // distance; unused slot: 2^DW - 1
    output logic [CW-1:0] m_ref_y,     // the reference block this record belongs to
    output logic [CW-1:0] m_ref_x,
    output logic m_last                // last slot of the reference
);
  localparam int R = WS / 2;                    // window radius n
  localparam int L = WS + N - 1 + STRIDE;       // line buffers (rows)
  localparam int LANES = P + N - 1;             // candidate rows read per cycle
  localparam int CW = 16;                       // coordinate width
  localparam int DW = $clog2(TAU + 1);          // distance field width = bit_length(TAU)
  localparam int OW = $clog2(R + 1) + 1;        // signed offset width
  localparam int OIW = $clog2(WS);              // offset index width (dy + n)
  localparam int KS = K - 1;                    // list slots besides the reference
  localparam int KW = DW + 2 * OIW;             // list key {distance, dy + n, dx + n}
  localparam int CSW = 2 * 8 + $clog2(N);       // column sum width
  localparam int FW = 2 * 8 + 2 * $clog2(N);    // block distance width
  localparam int TW = FW > DW ? FW : DW;        // width of the threshold comparison
  localparam int SW = $clog2(L);                // line-buffer index width
  localparam int AW = $clog2(W);                // column address width
  localparam int GI = G > 1 ? $clog2(G) : 1;    // group reference index width
  localparam int GN = $clog2(G + 1);            // group reference count width
  localparam int KB = D > 1 ? $clog2(D) : 1;    // lane index width
  localparam int KI = $clog2(K);                // output slot width
  // Insertion engines: a group reference takes distances for D consecutive cycles of a pass, and
  // references E apart never at once (their first lanes are at least (E-1)*STRIDE + 1 >= D
  // cycles apart), so reference g's insertions go through engine g mod E.
  localparam int EN = (D + STRIDE - 2) / STRIDE + 1;
  localparam int E = G < EN ? G : EN;
  localparam logic [CW-1:0] RAD = CW'(R);

  // ---------------------------------------------------------------- run-time configuration
  // Written at any time through cfg_*, taken when a frame's input starts (i_*) and by the search
  // when it starts that frame (the rest); a value outside its range (tau 1..TAU, K a power of
  // two 2..K, width N..W, height N..65535) is ignored.
  logic [DW-1:0] cfg_tau, i_tau, tau_r;
  logic [KI:0] cfg_k, i_k, k_r;
  logic [CW-1:0] cfg_w, cfg_h, i_w, i_h, w_r, h_r, LAST_X, LAST_Y;  // LAST_*: the last block's column and row
  logic [DW-1:0] SAT;                           // 2^bit_length(tau) - 1
  logic start;                                  // a start-of-frame pixel starts a frame's input
  logic start_ahead;                            // ... while the search finishes the frame before
  logic switch_frame;                           // the search moves on to the frame whose input is ahead
  // A run-time K: one of 2, 4, .. K (compared with each, not tested for a power of two by arithmetic).
  function automatic logic k_allowed(input logic [23:0] v);
    k_allowed = 1'b0;
    for (int b = 1; b <= KI; b++) if (v == 24'(1 << b)) k_allowed = 1'b1;
  endfunction
  always_ff @(posedge clk) begin
    if (rst) begin
      cfg_tau <= DW'(TAU);
      cfg_k <= (KI+1)'(K);
      cfg_w <= CW'(W);
      cfg_h <= CW'(H);
      i_w <= CW'(W);
      i_h <= CW'(H);
      tau_r <= DW'(TAU);
      k_r <= (KI+1)'(K);
      w_r <= CW'(W);
      h_r <= CW'(H);
      LAST_X <= CW'(W - N);
      LAST_Y <= CW'(H - N);
    end else begin
      if (cfg_valid) begin
        case (cfg_addr)
          2'd0: if (cfg_data != '0 && cfg_data <= 24'(TAU)) cfg_tau <= DW'(cfg_data);
          2'd1: if (k_allowed(cfg_data)) cfg_k <= (KI+1)'(cfg_data);
          2'd2: if (cfg_data >= 24'(N) && cfg_data <= 24'(W)) cfg_w <= CW'(cfg_data);
          default: if (cfg_data >= 24'(N) && cfg_data < 24'h10000) cfg_h <= CW'(cfg_data);
        endcase
      end
      if (start) begin
        i_tau <= cfg_tau;
        i_k <= cfg_k;
        i_w <= cfg_w;
        i_h <= cfg_h;
      end
      if (start && !start_ahead) begin
        tau_r <= cfg_tau;
        k_r <= cfg_k;
        w_r <= cfg_w;
        h_r <= cfg_h;
        LAST_X <= cfg_w - CW'(N);
        LAST_Y <= cfg_h - CW'(N);
      end else if (switch_frame) begin
        tau_r <= i_tau;
        k_r <= i_k;
        w_r <= i_w;
        h_r <= i_h;
        LAST_X <= i_w - CW'(N);
        LAST_Y <= i_h - CW'(N);
      end
    end
  end
  logic [KI:0] kge;                             // kge[b]: K >= 2^b (the group sizes allowed)
  always_ff @(posedge clk) begin                // both follow their register a cycle later: a frame's
    for (int i = 0; i < DW; i++) SAT[i] <= |(tau_r >> i);  // records come many cycles after it starts
    for (int b = 0; b <= KI; b++) kge[b] <= k_r >= (KI+1)'(1 << b);
  end

  function automatic logic [CW-1:0] min_cw(input logic [CW-1:0] a, input logic [CW-1:0] b);
    min_cw = a < b ? a : b;
  endfunction
  // The g-th reference of the group starting at x0 (the last column lx is forced), and whether it exists.
  function automatic logic [CW-1:0] gref_x(input logic [CW-1:0] x0, input int g, input logic [CW-1:0] lx);
    gref_x = min_cw(x0 + CW'(g * STRIDE), lx);
  endfunction
  function automatic logic gref_v(input logic [CW-1:0] x0, input int g, input logic [CW-1:0] lx);
    gref_v = g == 0 || x0 + CW'((g - 1) * STRIDE) + 1'b1 <= lx;
  endfunction

  // ---------------------------------------------------------------- input and line buffers
  // The input runs at most one frame ahead of the search: once a frame's last row is in, the next
  // frame's rows go into the line buffers the search no longer needs (row v of the next frame
  // counts as row h + v of this one), so frames follow each other with no gap on the input.
  logic [CW-1:0] in_row, in_col;                // next pixel to write
  logic [SW-1:0] wr_slot;                       // buffer of row in_row
  logic [SW-1:0] base_slot;                     // buffer of row 0 of the frame ahead
  logic [CW-1:0] ref_y;                         // current reference row
  logic frame_done;                             // last record of the search's frame accepted
  logic in_open;                                // a frame's input has started and not ended
  logic sr_on;                                  // the search has a frame
  logic ahead;                                  // the input's frame is the one after the search's
  logic dropping;                               // pixels outside a frame are being dropped
  logic take, eol, bad, abort, abort_sr, restart;
  logic eol_r;                                  // in_col == i_w - 1, kept as a flag
  // room: the next row to write, counted in the search's frame (rowcount; h when no frame is being
  // input), is below need_hi, the lowest row the current reference row needs plus L. All three
  // are registers: room's next value is chosen among comparisons of the possible next row counts
  // with need_hi, so a pixel is taken without arithmetic between a register and the decision.
  // When the search moves to its next reference row, need_hi grows and room follows a cycle
  // later (when a frame starts, at once).
  logic room;
  logic [16:0] rowcount, need_hi, next_need_hi, need_hi1, next_need_hi1;  // ...1: minus one
  logic lastrow_r;                              // in_row == i_h - 1, kept as a flag
  logic adv_row;                                // the search moves to its next reference row
  logic eoltake, rowdone;                       // a row's last pixel is taken / the frame's last

  // Outside a frame every pixel is taken: a start of frame starts one, any other is dropped. In
  // a frame, a start of frame or an end of line in the wrong place abandons it (a start of frame
  // then starts the next one at once); when it is the search's frame, the search is abandoned too.
  assign eoltake = take && in_open && !abort && eol;
  assign rowdone = eoltake && lastrow_r;
  always_ff @(posedge clk) begin
    logic hr_nh, rc1_nh, rc_nh, ir_l, ir1_l, ih_l;
    ir_l = 17'(in_row) < 17'(L);
    ir1_l = 17'(in_row) < 17'(L - 1);
    ih_l = 17'(i_h) < 17'(L);
    hr_nh = 17'(h_r) < need_hi;
    rc1_nh = rowcount < need_hi1;               // rowcount + 1 < need_hi, without the addition
    rc_nh = rowcount < need_hi;
    if (rst) begin
      rowcount <= 17'(H);
      need_hi <= 17'(L);
      need_hi1 <= 17'(L - 1);
      room <= 1'b0;
    end else begin
      if (start) rowcount <= start_ahead ? 17'(h_r) : '0;
      else if (abort) rowcount <= 17'(h_r);
      else if (switch_frame) rowcount <= in_open && !rowdone ? 17'(in_row) + 17'(eoltake) : 17'(i_h);
      else if (eoltake) rowcount <= rowdone ? 17'(h_r) : rowcount + 1'b1;
      if (restart) begin
        need_hi <= 17'(L);
        need_hi1 <= 17'(L - 1);
      end else if (adv_row) begin
        need_hi <= next_need_hi;
        need_hi1 <= next_need_hi1;
      end
      if (start && !start_ahead) room <= 1'b1;
      else if (restart) room <= switch_frame && (in_open && !rowdone ? (eoltake ? ir1_l : ir_l) : ih_l);
      else if (start_ahead || abort || rowdone) room <= hr_nh;
      else if (eoltake) room <= rc1_nh;
      else room <= rc_nh;
    end
  end
  assign s_ready = in_open ? room : !sr_on || (!ahead && room);
  assign take = s_valid && s_ready;
  assign eol = eol_r;
  assign bad = s_user || s_last != eol;
  assign abort = take && in_open && bad;
  assign abort_sr = abort && !ahead;
  assign start = !rst && take && s_user && !s_last && (!in_open || abort);
  assign start_ahead = start && sr_on && !frame_done && !abort_sr;
  assign switch_frame = frame_done && ahead && !abort;
  assign restart = rst || frame_done || abort_sr;
  assign frame_error = abort || (take && !in_open && !s_user && !dropping);

  always_ff @(posedge clk) begin
    if (rst) dropping <= 1'b0;
    else if (take) dropping <= !start && (!in_open || abort);
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      in_open <= 1'b0;
      sr_on <= 1'b0;
      ahead <= 1'b0;
      in_row <= '0;
      in_col <= '0;
      eol_r <= 1'b0;
      lastrow_r <= 1'b0;
      wr_slot <= '0;
      base_slot <= '0;
    end else begin
      if (start) begin
        in_open <= 1'b1;
        in_row <= '0;
        in_col <= CW'(1);
        eol_r <= 1'b0;                          // widths are at least N >= 4
        lastrow_r <= 1'b0;                      // and heights
        wr_slot <= start_ahead ? (abort ? base_slot : wr_slot) : '0;
        base_slot <= start_ahead ? (abort ? base_slot : wr_slot) : '0;
        ahead <= start_ahead;
      end else if (abort) begin
        in_open <= 1'b0;
        ahead <= 1'b0;
      end else if (take && in_open) begin
        eol_r <= !eol && in_col + CW'(2) == i_w;
        if (eol) lastrow_r <= in_row + CW'(2) == i_h;
        if (eol) begin
          in_col <= '0;
          in_row <= in_row + 1'b1;
          wr_slot <= wr_slot == SW'(L - 1) ? '0 : wr_slot + 1'b1;
          if (lastrow_r) in_open <= 1'b0;
        end else begin
          in_col <= in_col + 1'b1;
        end
      end
      if (switch_frame) ahead <= 1'b0;
      if (start && !start_ahead) sr_on <= 1'b1;
      else if (restart && !switch_frame) sr_on <= 1'b0;
    end
  end

  // Pixels are written a cycle after they are taken (the search reads a row at least two cycles
  // after its last pixel is taken).
  logic w_en;
  logic [SW-1:0] w_slot;
  logic [AW-1:0] w_col;
  logic [7:0] w_data;
  always_ff @(posedge clk) begin
    w_en <= start || (take && in_open);
    w_slot <= start ? (start_ahead ? (abort ? base_slot : wr_slot) : '0) : wr_slot;
    w_col <= start ? '0 : in_col[AW-1:0];
    w_data <= s_data;
  end

  logic [AW-1:0] ra_col, rd_col;                // reference column (port A), candidate column (port B), registered
  logic [8*L-1:0] qa, qb;                       // every buffer's pixel, one cycle later
  genvar gm;
  generate
    for (gm = 0; gm < L; gm++) begin : g_row
      logic [7:0] mem [0:W-1];
      initial for (int i = 0; i < W; i++) mem[i] = '0;  // block-RAM contents at configuration
      logic [7:0] a_q, b_q;
      logic we;
      logic [AW-1:0] a_addr;
      assign we = w_en && w_slot == SW'(gm);
      assign a_addr = we ? w_col : ra_col;
      always_ff @(posedge clk) begin
        if (we) mem[a_addr] <= w_data;
        a_q <= mem[a_addr];
        b_q <= mem[rd_col];
      end
      assign qa[8*gm +: 8] = a_q;
      assign qb[8*gm +: 8] = b_q;
    end
  endgenerate

  function automatic logic [SW-1:0] wrap_add(input logic [SW-1:0] base, input logic [CW-1:0] step);
    logic [CW-1:0] sum;
    sum = CW'(base) + step;                     // step < L
    wrap_add = SW'(sum >= CW'(L) ? sum - CW'(L) : sum);
  endfunction

  // ---------------------------------------------------------------- issue: passes of a group
  // Every value the issue derives from the group (x0), the reference row (ref_y), the pass or the
  // frame (LAST_X, LAST_Y) is a register that follows its inputs one to three cycles later, so no
  // arithmetic on them lies between two registers in the same cycle. They are settled whenever
  // they are used: a pass lasts at least N + D - 1 >= 4 cycles and uses them from its fourth (its
  // end, from the third: t_pen is two cycles behind x0), and a reference row waits two cycles
  // before it may start. Whether this is the pass's last cycle is a register too (at_end), so the
  // pass counter's end test is not between t and the next band, block or group.
  typedef enum logic [1:0] {S_WAIT, S_RUN, S_DONE} state_t;
  state_t state;
  logic [1:0] settle;                           // cycles a waiting reference row still lets settle
  logic [CW-1:0] x0;                            // first reference of the group
  logic [CW-1:0] band_y;                        // first candidate row of the pass
  logic [CW-1:0] dxi_b;                         // first offset column of the pass, dx + n
  logic [CW-1:0] t;                             // cycle of the pass
  logic at_end;                                 // t is the pass's last cycle, S + D - 2
  logic [SW-1:0] ref_slot, band_slot;           // buffers holding rows ref_y and band_y
  logic [CW:0] cand;                            // candidate column read this cycle (signed): x0 + t + dxi_b - n
  logic [CW-1:0] rcol;                          // reference column read this cycle: x0 + t

  logic [CW-1:0] cy_lo, cy_hi, back, step, next_ref_y, ref_bot;
  logic [CW-1:0] x_last, room_x, room_xn, last_xc, room_xc, t_pen, dxi_hi, dxi_lo, nx0, nx0_last, nx0_dxi;
  logic [CW:0] cand_nb, cand_lo, cand_ng;
  logic [SW-1:0] lo_slot, next_ref_slot, next_band_slot;
  logic last_row, row_done, last_block, last_band, rows_ready;
  logic `BM_STAGES(CW, 0, G-1) rel;                   // cycle of the pass at which reference g's distances start
  logic [G-1:0] gv;                             // reference g exists
  logic [GN-1:0] nref;                          // references in the group
  logic last_issue, iss_v, stall, inflight, ob_v;

  always_ff @(posedge clk) begin
    logic [GN-1:0] n;
    cy_lo <= ref_y > RAD ? ref_y - RAD : '0;
    cy_hi <= min_cw(ref_y + RAD, LAST_Y);
    back <= min_cw(ref_y, RAD);
    lo_slot <= CW'(ref_slot) >= back ? SW'(CW'(ref_slot) - back) : SW'(CW'(ref_slot) + CW'(L) - back);
    step <= min_cw(CW'(STRIDE), LAST_Y - ref_y);
    next_ref_y <= ref_y + step;
    next_ref_slot <= wrap_add(ref_slot, step);
    last_row <= ref_y == LAST_Y;
    next_need_hi <= (next_ref_y > RAD ? 17'(next_ref_y - RAD) : '0) + 17'(L);
    next_need_hi1 <= (next_ref_y > RAD ? 17'(next_ref_y - RAD) : '0) + 17'(L - 1);
    ref_bot <= ref_y + RAD + CW'(N);
    rows_ready <= sr_on && (ahead || !in_open || in_row >= ref_bot || in_row >= h_r);
    x_last <= min_cw(x0 + CW'((G - 1) * STRIDE), LAST_X);
    room_x <= LAST_X - x0;
    room_xn <= room_x + CW'(N - 1);
    // S + D - 3, the pass's last cycle but one, two cycles behind x0: the span's two cases (the
    // group reaches the row's last column or not; both give the same at room_x = (G - 1) stride)
    // side by side, one selected. While it is stale after a new group (the pass's first two
    // cycles), it is the previous group's, a full span of G > 1 references: at least 3, so it
    // never ends a pass early.
    last_xc <= LAST_X + CW'(N + D - 3);
    room_xc <= last_xc - x0;
    t_pen <= room_x < CW'((G - 1) * STRIDE + 1) ? room_xc : CW'((G - 1) * STRIDE + N + D - 3);
    dxi_hi <= RAD + min_cw(RAD, room_x);
    dxi_lo <= RAD - min_cw(RAD, x_last);
    cand_lo <= (CW+1)'(x0) - (CW+1)'(min_cw(RAD, x_last));
    row_done <= room_x < CW'((G - 1) * STRIDE + 1);
    nx0 <= min_cw(x0 + CW'(G * STRIDE), LAST_X);
    nx0_last <= min_cw(nx0 + CW'((G - 1) * STRIDE), LAST_X);
    nx0_dxi <= RAD - min_cw(RAD, nx0_last);
    cand_ng <= (CW+1)'(nx0) - (CW+1)'(min_cw(RAD, nx0_last));
    cand_nb <= (CW+1)'(x0 + dxi_b + CW'(D)) - (CW+1)'(RAD);
    last_block <= dxi_b + CW'(D) > dxi_hi;
    last_band <= band_y + CW'(P) > cy_hi;
    next_band_slot <= wrap_add(band_slot, CW'(P));
    n = '0;
    for (int g = 0; g < G; g++) begin
      `BM_STAGE(rel, CW, g, 0) <= min_cw(CW'(g * STRIDE + N - 1), room_xn);
      gv[g] <= g == 0 || x0 + CW'((g - 1) * STRIDE) + 1'b1 <= LAST_X;
      n = n + GN'(gv[g]);
    end
    nref <= n;
  end

  assign last_issue = at_end && last_block && last_band;
  assign stall = last_issue && (ob_v || inflight);
  assign iss_v = state == S_RUN && !stall;
  assign adv_row = iss_v && last_issue && row_done && !last_row;

  always_ff @(posedge clk) begin
    if (restart) begin
      state <= S_WAIT;
      settle <= 2'd2;
      ref_y <= '0;
      ref_slot <= switch_frame ? base_slot : '0;
      x0 <= '0;
      band_y <= '0;
      band_slot <= '0;
      dxi_b <= '0;
      t <= '0;
      at_end <= 1'b0;
      cand <= '0;
      rcol <= '0;
    end else begin
      if (state != S_WAIT) settle <= 2'd2;     // so that a row that starts waiting settles two cycles
      case (state)
        S_WAIT: if (settle != '0) begin
          settle <= settle - 1'b1;
        end else if (rows_ready) begin
          state <= S_RUN;
          band_y <= cy_lo;
          band_slot <= lo_slot;
          dxi_b <= dxi_lo;
          t <= '0;
          at_end <= 1'b0;                       // a pass lasts at least N + D - 1 >= 4 cycles
          cand <= cand_lo;
          rcol <= x0;
        end
        S_RUN: if (!stall) begin
          if (!at_end) begin
            t <= t + 1'b1;
            at_end <= t == t_pen;
            cand <= cand + 1'b1;
            rcol <= rcol + 1'b1;
          end else begin
            t <= '0;
            at_end <= 1'b0;
            rcol <= x0;
            if (!last_block) begin
              dxi_b <= dxi_b + CW'(D);
              cand <= cand_nb;
            end else if (!last_band) begin
              dxi_b <= dxi_lo;
              band_y <= band_y + CW'(P);
              band_slot <= next_band_slot;
              cand <= cand_lo;
            end else if (!row_done) begin
              x0 <= nx0;
              rcol <= nx0;
              dxi_b <= nx0_dxi;
              band_y <= cy_lo;
              band_slot <= lo_slot;
              cand <= cand_ng;
            end else begin
              x0 <= '0;
              if (last_row) begin
                state <= S_DONE;
              end else begin
                state <= S_WAIT;
                ref_y <= next_ref_y;
                ref_slot <= next_ref_slot;
              end
            end
          end
        end
        default: ;                              // S_DONE: until the last record is accepted
      endcase
    end
  end

  // A group's records occupy the pipeline from its last issue until they enter the output buffer.
  logic gend_out;                               // the group's lists enter the output buffer
  always_ff @(posedge clk) begin
    if (restart || gend_out) inflight <= 1'b0;
    else if (iss_v && last_issue) inflight <= 1'b1;
  end

  // ---------------------------------------------------------------- pipeline control
  // Stage s holds what the issue sent s cycles ago: 1 addresses, 2 block-RAM data, 3 the same
  // registered, 4 columns, 5 differences, 6 squares, 7 column sums, 8 block distances, 9 each
  // engine's P distances, 10 keys, 11 ranks, 12 sorted keys (merged into the lists), 13 the lists
  // complete (into the output buffer).
  localparam int LAST = 13;
  localparam int DSEL = 8;                      // stage whose block distances the engines select
  localparam int EMIT = 9;                      // stage whose selected distances become keys
  localparam int MERGE = LAST - 1;              // stage whose keys are merged
  logic [LAST:1] c_v;
  logic [LAST:1] c_gend;
  logic [LAST:1] c_glast;
  logic `BM_STAGES(CW, 1, LAST) c_ry;
  logic `BM_STAGES(CW, 1, LAST) c_x0;
  logic `BM_STAGES(GN, 1, LAST) c_nref;
  logic `BM_STAGES(SW, 1, 2) c_bslot;
  logic `BM_STAGES(SW, 1, 2) c_rslot;
  logic [EMIT:1] c_colok;                       // the candidate columns are inside the frame
  logic `BM_STAGES(P, 1, EMIT) c_rok;                 // offset row u is inside the window
  logic `BM_STAGES(P, 1, EMIT) c_rzero;               // offset row u is dy = 0
  logic `BM_STAGES(OIW*P, 1, EMIT) c_dyi;             // dy + n of offset row u
  logic `BM_STAGES(D, 1, 2) c_lok;                    // lane k's offset column is inside the window
  logic `BM_STAGES(D, 1, 2) c_lzero;                  // lane k's offset column is dx = 0
  logic `BM_STAGES(OIW, 1, 2) c_dxb;                  // dx + n of lane 0
  logic [G-1:0] c_act;                          // reference g takes lane c_k[g]'s distances (stage 1)
  logic [KB*G-1:0] c_k;
  logic `BM_STAGES(E, 2, LAST-1) e_v;                 // engine e merges keys
  logic `BM_STAGES(GI*E, 2, LAST-1) e_g;              // ... into the list of this reference
  logic `BM_STAGES(KB*E, 2, DSEL) e_k;                // ... from this lane
  logic `BM_STAGES(E, 3, EMIT) e_lok;
  logic `BM_STAGES(E, 3, EMIT) e_lzero;
  logic `BM_STAGES(OIW*E, 3, EMIT) e_dxi;

  always_ff @(posedge clk) begin
    for (int s = LAST; s > 1; s--) begin
      c_v[s] <= c_v[s-1] && !restart;
      c_gend[s] <= c_gend[s-1] && !restart;
      c_glast[s] <= c_glast[s-1];
      `BM_STAGE(c_ry, CW, s, 1) <= `BM_STAGE(c_ry, CW, s-1, 1);
      `BM_STAGE(c_x0, CW, s, 1) <= `BM_STAGE(c_x0, CW, s-1, 1);
      `BM_STAGE(c_nref, GN, s, 1) <= `BM_STAGE(c_nref, GN, s-1, 1);
    end
    c_v[1] <= iss_v && !restart;
    c_gend[1] <= iss_v && last_issue && !restart;
    c_glast[1] <= row_done && last_row;
    `BM_STAGE(c_ry, CW, 1, 1) <= ref_y;
    `BM_STAGE(c_x0, CW, 1, 1) <= x0;
    `BM_STAGE(c_nref, GN, 1, 1) <= nref;
    `BM_STAGE(c_bslot, SW, 1, 1) <= band_slot;
    `BM_STAGE(c_rslot, SW, 1, 1) <= ref_slot;
    `BM_STAGE(c_bslot, SW, 2, 1) <= `BM_STAGE(c_bslot, SW, 1, 1);
    `BM_STAGE(c_rslot, SW, 2, 1) <= `BM_STAGE(c_rslot, SW, 1, 1);
    for (int s = EMIT; s > 1; s--) begin
      c_colok[s] <= c_colok[s-1];
      `BM_STAGE(c_rok, P, s, 1) <= `BM_STAGE(c_rok, P, s-1, 1);
      `BM_STAGE(c_rzero, P, s, 1) <= `BM_STAGE(c_rzero, P, s-1, 1);
      `BM_STAGE(c_dyi, OIW*P, s, 1) <= `BM_STAGE(c_dyi, OIW*P, s-1, 1);
    end
    c_colok[1] <= !cand[CW] && cand[CW-1:0] >= CW'(N - 1) && cand[CW-1:0] < w_r;
    for (int u = 0; u < P; u++) begin
      `BM_BIT(c_rok, P, 1, 1, u) <= band_y + CW'(u) <= cy_hi;
      `BM_BIT(c_rzero, P, 1, 1, u) <= band_y + CW'(u) == ref_y;
      `BM_ELEM(c_dyi, OIW*P, 1, 1, OIW, u) <= OIW'(band_y + CW'(u) + RAD - ref_y);
    end
    for (int k = 0; k < D; k++) begin
      `BM_BIT(c_lok, D, 1, 1, k) <= dxi_b + CW'(k) <= CW'(2 * R);
      `BM_BIT(c_lzero, D, 1, 1, k) <= dxi_b + CW'(k) == RAD;
    end
    `BM_STAGE(c_lok, D, 2, 1) <= `BM_STAGE(c_lok, D, 1, 1);
    `BM_STAGE(c_lzero, D, 2, 1) <= `BM_STAGE(c_lzero, D, 1, 1);
    `BM_STAGE(c_dxb, OIW, 1, 1) <= OIW'(dxi_b);
    `BM_STAGE(c_dxb, OIW, 2, 1) <= `BM_STAGE(c_dxb, OIW, 1, 1);
    for (int g = 0; g < G; g++) begin
      logic [CW-1:0] s;
      s = t - `BM_STAGE(rel, CW, g, 0);
      c_act[g] <= iss_v && !restart && gv[g] && t >= `BM_STAGE(rel, CW, g, 0) && s < CW'(D);
      c_k[KB*g +: KB] <= KB'(s);
    end
    // Stage 2: each engine takes the one active reference of its own (g mod E).
    for (int e = 0; e < E; e++) begin
      `BM_BIT(e_v, E, 2, 2, e) <= 1'b0;
      `BM_ELEM(e_g, GI*E, 2, 2, GI, e) <= '0;
      `BM_ELEM(e_k, KB*E, 2, 2, KB, e) <= '0;
      for (int g = e; g < G; g += E) begin
        if (c_act[g]) begin
          `BM_BIT(e_v, E, 2, 2, e) <= !restart;
          `BM_ELEM(e_g, GI*E, 2, 2, GI, e) <= GI'(g);
          `BM_ELEM(e_k, KB*E, 2, 2, KB, e) <= c_k[KB*g +: KB];
        end
      end
    end
    for (int s = LAST - 1; s > 2; s--) begin
      `BM_STAGE(e_v, E, s, 2) <= `BM_STAGE(e_v, E, s-1, 2) & {E{!restart}};
      `BM_STAGE(e_g, GI*E, s, 2) <= `BM_STAGE(e_g, GI*E, s-1, 2);
    end
    for (int s = DSEL; s > 2; s--) `BM_STAGE(e_k, KB*E, s, 2) <= `BM_STAGE(e_k, KB*E, s-1, 2);
    // Stage 3: the lane's offset column.
    for (int e = 0; e < E; e++) begin
      logic [KB-1:0] k;
      k = `BM_ELEM(e_k, KB*E, 2, 2, KB, e);
      `BM_BIT(e_lok, E, 3, 3, e) <= `BM_BIT(c_lok, D, 2, 1, 32'(k));
      `BM_BIT(e_lzero, E, 3, 3, e) <= `BM_BIT(c_lzero, D, 2, 1, 32'(k));
      `BM_ELEM(e_dxi, OIW*E, 3, 3, OIW, e) <= `BM_STAGE(c_dxb, OIW, 2, 1) + OIW'(k);
    end
    for (int s = EMIT; s > 3; s--) begin
      `BM_STAGE(e_lok, E, s, 3) <= `BM_STAGE(e_lok, E, s-1, 3);
      `BM_STAGE(e_lzero, E, s, 3) <= `BM_STAGE(e_lzero, E, s-1, 3);
      `BM_STAGE(e_dxi, OIW*E, s, 3) <= `BM_STAGE(e_dxi, OIW*E, s-1, 3);
    end
  end
  assign gend_out = c_gend[LAST];

  // Addresses (stage 1): the candidate column (port B) and the reference column (port A), 0
  // outside the frame.
  always_ff @(posedge clk) begin
    rd_col <= !cand[CW] && cand[CW-1:0] < w_r ? AW'(cand[CW-1:0]) : '0;
    ra_col <= rcol < w_r ? AW'(rcol) : '0;
  end

  // ---------------------------------------------------------------- stages 2-3: rotate, shift
  // The block-RAM data is registered once (stage 3) with the buffers holding the first candidate
  // row and the first reference row; row l is then buffer (first + l) mod L, a rotation of the
  // buffers: the L buffers written twice (so that it wraps) and shifted down by the first buffer's
  // index, a base-4 digit at a time, each a level of 4:1 multiplexers (three levels for 49
  // buffers). Rows past the P + N1 - 1 read are never used and are optimised away.
  function automatic logic [8*L-1:0] rotate(input logic [8*L-1:0] q, input logic [SW-1:0] first);
    logic [16*L-1:0] v, w;
    v = {q, q};
    for (int b = 0; b < SW; b += 2) begin
      logic [1:0] digit;
      digit = 2'(first >> b);
      for (int j = 0; j < 2 * L; j++) begin
        w[8*j +: 8] = '0;
        for (int d = 0; d < 4; d++) begin
          if (digit == 2'(d) && j + (d << b) < 2 * L) w[8*j +: 8] = v[8*(j + (d << b)) +: 8];
        end
      end
      v = w;
    end
    rotate = v[8*L-1:0];
  endfunction
  logic [8*L-1:0] qa_r, qb_r;
  logic [SW-1:0] bslot_r, rslot_r;
  always_ff @(posedge clk) begin
    qa_r <= qa;
    qb_r <= qb;
    bslot_r <= `BM_STAGE(c_bslot, SW, 2, 1);
    rslot_r <= `BM_STAGE(c_rslot, SW, 2, 1);
  end
  logic [8*LANES-1:0] lane;                     // candidate rows band_y .. band_y+LANES-1
  logic [8*N-1:0] refpix;                       // reference rows ref_y .. ref_y+N-1
  assign lane = (8*LANES)'(rotate(qb_r, bslot_r));
  assign refpix = (8*N)'(rotate(qa_r, rslot_r));

  // refc: lane k's reference column (k cycles old); candc: this cycle's candidate column.
  logic [8*N*D-1:0] refc;
  logic [8*LANES-1:0] candc;
  always_ff @(posedge clk) begin
    if (rst) begin                              // the running sums below must never see an unknown
      candc <= '0;
      refc <= '0;
    end else if (c_v[3]) begin
      candc <= lane;
      refc <= (8*N*D)'({refc, refpix});
    end
  end

  // ---------------------------------------------------------------- stages 4-6: column sums
  // x * x = 256 h^2 + 32 h l + l^2 for x = 16 h + l: two 4-bit squares side by side plus one
  // 4 x 4 product, each an 8-input function that maps to LUTs with their F7/F8 multiplexers (too
  // narrow for a DSP slice), and one addition. (A constant table indexed by {a, b} is the same
  // logic, but Yosys 0.23 expands each variable part-select of it into a 2048-bit shifter first:
  // gigabytes of memory at the 1080p configuration's size.)
  function automatic logic [7:0] mul4(input logic [3:0] a, input logic [3:0] b);
    mul4 = 8'(a * b);
  endfunction

  logic [8*N*P*D-1:0] adiff;                    // |reference - candidate| of unit u, lane k, row i
  logic [16*N*P*D-1:0] term;                    // its square (SSD) or itself (SAD)
  logic [CSW*(N+1)*P*D-1:0] hist;               // last N+1 column sums per unit and lane, newest first
  always_ff @(posedge clk) begin
    for (int u = 0; u < P; u++) begin
      for (int k = 0; k < D; k++) begin
        for (int i = 0; i < N; i++) begin
          logic [7:0] a, b;
          a = refc[8*(N*k + i) +: 8];
          b = candc[8*(u + i) +: 8];
          adiff[8*(N*(u*D+k) + i) +: 8] <= a > b ? a - b : b - a;
        end
      end
    end
    for (int j = 0; j < N * P * D; j++) begin
      logic [7:0] x;
      x = adiff[8*j +: 8];
      term[16*j +: 16] <= METRIC == 0 ? {mul4(x[7:4], x[7:4]), mul4(x[3:0], x[3:0])} + (16'(mul4(x[7:4], x[3:0])) << 5)
                                      : 16'(x);
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      for (int l = 0; l < P * D; l++) hist[CSW*(N+1)*l +: CSW*(N+1)] <= '0;
    end else if (c_v[6] && !restart) begin
      for (int l = 0; l < P * D; l++) begin
        logic [CSW-1:0] acc;
        acc = '0;
`ifdef BM_PLANTED_BUG
        for (int i = 0; i < N - 1; i++) acc = acc + CSW'(term[16*(N*l + i) +: 16]);
`else
        for (int i = 0; i < N; i++) acc = acc + CSW'(term[16*(N*l + i) +: 16]);
`endif
        hist[CSW*(N+1)*l +: CSW*(N+1)] <= {hist[CSW*(N+1)*l +: CSW*N], acc};
      end
    end
  end

  // ---------------------------------------------------------------- stage 7: block distances
  // A running sum: add the newest column sum, drop the one N columns back (both kept in hist).
  logic [FW*P*D-1:0] bdist;
  always_ff @(posedge clk) begin
    if (rst) begin
      bdist <= '0;
    end else if (c_v[7]) begin
      for (int l = 0; l < P * D; l++) begin
        bdist[FW*l +: FW] <= bdist[FW*l +: FW] + FW'(hist[CSW*(N+1)*l +: CSW])
                             - FW'(hist[CSW*((N+1)*l + N) +: CSW]);
      end
    end
  end

  // ---------------------------------------------------------------- stages 8-9: keys
  // Engine e takes the P distances of its lane (stage 8), keeps those inside the window and below
  // tau (stage 9); a key not taken is all ones, above every key taken (whose distance is below
  // tau <= TAU < 2^DW - 1), so it sorts and merges last without a valid bit.
  logic [FW*E*P-1:0] dsel;
  always_ff @(posedge clk) begin
    for (int e = 0; e < E; e++) begin
      for (int u = 0; u < P; u++) begin
        logic [FW-1:0] d;
        d = '0;
        for (int k = 0; k < D; k++) if (`BM_ELEM(e_k, KB*E, DSEL, 2, KB, e) == KB'(k)) d = bdist[FW*(u*D + k) +: FW];
        dsel[FW*(e*P+u) +: FW] <= d;
      end
    end
  end
  logic [KW*E*P-1:0] ins_key;
  always_ff @(posedge clk) begin
    for (int e = 0; e < E; e++) begin
      for (int u = 0; u < P; u++) begin
        logic [FW-1:0] d;
        logic ok;
        d = dsel[FW*(e*P+u) +: FW];
        ok = !restart && `BM_BIT(e_v, E, EMIT, 2, e) && c_colok[EMIT] && `BM_BIT(e_lok, E, EMIT, 3, e) && `BM_BIT(c_rok, P, EMIT, 1, u)
             && !(`BM_BIT(c_rzero, P, EMIT, 1, u) && `BM_BIT(e_lzero, E, EMIT, 3, e)) && TW'(d) < TW'(tau_r);
        ins_key[KW*(e*P+u) +: KW] <= ok ? {d[DW-1:0], `BM_ELEM(c_dyi, OIW*P, EMIT, 1, OIW, u), `BM_ELEM(e_dxi, OIW*E, EMIT, 3, OIW, e)} : '1;
      end
    end
  end

  // ---------------------------------------------------------------- stages 10-11: sort the keys
  // Each engine's P keys in order: a key's rank is the number of keys before it (keys not taken
  // are equal, all ones, and ordered by position).
  localparam int RKW = P > 1 ? $clog2(P) : 1;
  logic [KW*E*P-1:0] srt_key, s_key;
  logic [RKW*E*P-1:0] srt_rank;
  always_ff @(posedge clk) begin
    for (int e = 0; e < E; e++) begin
      for (int u = 0; u < P; u++) begin
        logic [RKW-1:0] r;
        logic [KW-1:0] ku, kw;
        ku = ins_key[KW*(e*P+u) +: KW];
        r = '0;
        for (int w = 0; w < P; w++) begin
          kw = ins_key[KW*(e*P+w) +: KW];
          if (w < u) r = r + RKW'(kw <= ku);
          if (w > u) r = r + RKW'(kw < ku);
        end
        srt_rank[RKW*(e*P+u) +: RKW] <= r;
      end
    end
    srt_key <= ins_key;
    for (int e = 0; e < E; e++) begin
      for (int s = 0; s < P; s++) begin
        logic [KW-1:0] ks;
        ks = '0;
        for (int u = 0; u < P; u++) begin
          if (srt_rank[RKW*(e*P+u) +: RKW] == RKW'(s)) ks = ks | srt_key[KW*(e*P+u) +: KW];
        end
        s_key[KW*(e*P+s) +: KW] <= ks;
      end
    end
  end

  // ---------------------------------------------------------------- stage 12: top-K merge
  // One sorted list of K - 1 slots per group reference, empty slots all ones. Engine e merges its
  // sorted keys into its working list wk: entry j goes to slot j + (keys before it), key u to slot
  // u + (entries before it), and a slot past the end drops out. Keys taken are unique (each offset
  // enters a list once), so this is the cascade of P insertions with every comparison independent
  // of the others. Empty slots and keys not taken need no valid bits: all ones, they compare above
  // every key taken, and a key not taken lands past the end (after all K - 1 entries), so each
  // source's select is two comparisons. The result is written back to the reference's list; when
  // the engine's next keys are for another reference (or a new group), wk is loaded with that
  // reference's list instead (read a cycle earlier into pre), so the merge itself never selects
  // its input. A reference's D cycles of keys may be interrupted (the group's last pass cycle
  // waits for the output buffer), so wk remembers whose list it holds.
  localparam int SRC = 2 * P + 1;               // sources of a slot: entries i - P .. i, keys 0 .. P - 1
  logic [KW*KS*G-1:0] lst_key;
  logic [KW*KS*E-1:0] pre_key, wk_key, mg_key;  // the next reference's list, the working list, the merge
  logic [SRC*KS*E-1:0] msel;                    // slot i of engine e takes source q
  logic [E-1:0] load;                           // the engine's next keys start another reference
  logic [E-1:0] wk_ok;                          // wk holds the latest list of reference wk_g of this group
  logic [GI*E-1:0] wk_g;
  always_comb begin
    for (int e = 0; e < E; e++) begin
      logic [GI-1:0] gn;
      gn = `BM_ELEM(e_g, GI*E, MERGE-1, 2, GI, e);
      load[e] = `BM_BIT(e_v, E, MERGE-1, 2, e) && !(`BM_BIT(e_v, E, MERGE, 2, e) ? `BM_ELEM(e_g, GI*E, MERGE, 2, GI, e) == gn
                                                   : wk_ok[e] && wk_g[GI*e +: GI] == gn);
    end
  end
  always_ff @(posedge clk) begin
    for (int e = 0; e < E; e++) begin
      if (restart || gend_out) begin
        wk_ok[e] <= 1'b0;
      end else if (load[e]) begin
        wk_ok[e] <= 1'b1;
        wk_g[GI*e +: GI] <= `BM_ELEM(e_g, GI*E, MERGE-1, 2, GI, e);
      end else if (`BM_BIT(e_v, E, MERGE, 2, e)) begin
        wk_ok[e] <= 1'b1;
        wk_g[GI*e +: GI] <= `BM_ELEM(e_g, GI*E, MERGE, 2, GI, e);
      end
    end
  end
  always_ff @(posedge clk) begin
    for (int e = 0; e < E; e++) begin
      for (int g = e; g < G; g += E) begin
        if (`BM_ELEM(e_g, GI*E, MERGE-2, 2, GI, e) == GI'(g)) begin
          pre_key[KW*KS*e +: KW*KS] <= lst_key[KW*KS*g +: KW*KS];
        end
      end
      if (load[e]) begin
        wk_key[KW*KS*e +: KW*KS] <= pre_key[KW*KS*e +: KW*KS];
      end else if (`BM_BIT(e_v, E, MERGE, 2, e)) begin
        wk_key[KW*KS*e +: KW*KS] <= mg_key[KW*KS*e +: KW*KS];
      end
    end
  end

  always_comb begin
    for (int e = 0; e < E; e++) begin
      logic [KW*KS-1:0] lk;
      logic [KS*(P+2)-1:0] tb;
      logic [(KS+2)*P-1:0] ab;
      lk = wk_key[KW*KS*e +: KW*KS];
      // tb[j][m + 1]: key m before entry j (tb[j][0] = 1, tb[j][P + 1] = 0); ab[m + 1][u]: entry m
      // before key u (ab[0][u] = 1, ab[KS + 1][u] = 0). Both runs of ones come first.
      for (int j = 0; j < KS; j++) begin
        tb[j*(P+2)] = 1'b1;
        tb[j*(P+2) + P + 1] = 1'b0;
        for (int u = 0; u < P; u++) begin
          tb[j*(P+2) + u + 1] = s_key[KW*(e*P+u) +: KW] < lk[KW*j +: KW];
          ab[(j+1)*P + u] = !tb[j*(P+2) + u + 1];
        end
      end
      for (int u = 0; u < P; u++) begin
        ab[u] = 1'b1;
        ab[(KS+1)*P + u] = 1'b0;
      end
      for (int i = 0; i < KS; i++) begin
        for (int q = 0; q <= P; q++) begin      // entry i - q, with q keys before it
          msel[SRC*(KS*e+i) + q] = 1'b0;
          if (i >= q) msel[SRC*(KS*e+i) + q] = tb[(i-q)*(P+2) + q] && !tb[(i-q)*(P+2) + q + 1];
        end
        for (int u = 0; u < P; u++) begin       // key u, with i - u entries before it
          msel[SRC*(KS*e+i) + P + 1 + u] = 1'b0;
          if (u <= i) msel[SRC*(KS*e+i) + P + 1 + u] = ab[(i-u)*P + u] && !ab[(i-u+1)*P + u];
        end
      end
    end
  end

  // Slot i's sources in pairs: entry i - p and key p share the comparison of key p with entry
  // i - p, so a pair is one 6-input LUT per bit (two data bits, three comparisons); up to six
  // pairs are ORed into a part, and the parts where the working list's input multiplexer is.
  // Both kept: unkept, ABC (one unit of delay per LUT however wide, and free to use the design's
  // deepest level everywhere) maps the 2P + 1 sources as two 8-input LUTs (LUT6 + MUXF7 +
  // MUXF8), which made this loop the longest path at P = 13. Pairs, parts and the merge are three
  // blocks so that none reads what it writes (Icarus re-evaluates such a block, minutes per test).
  localparam int NPR = P + 1;                   // pairs: entry i - p with key p (key P: none)
  localparam int NMP = (NPR + 5) / 6;           // parts of up to six pairs
  (* keep *) logic [KW*NPR*KS*E-1:0] mpair;
  (* keep *) logic [KW*NMP*KS*E-1:0] mpart;
  always_comb begin
    for (int e = 0; e < E; e++) begin
      for (int i = 0; i < KS; i++) begin
        for (int p = 0; p < NPR; p++) begin
          logic [KW-1:0] k;
          k = '0;
          if (p <= i) k = wk_key[KW*(KS*e+i-p) +: KW] & {KW{msel[SRC*(KS*e+i) + p]}};
          if (p <= i && p < P) k = k | (s_key[KW*(e*P+p) +: KW] & {KW{msel[SRC*(KS*e+i) + P + 1 + p]}});
          mpair[KW*(NPR*(KS*e+i) + p) +: KW] = k;
        end
      end
    end
  end
  always_comb begin
    for (int e = 0; e < E; e++) begin
      for (int i = 0; i < KS; i++) begin
        for (int m = 0; m < NMP; m++) begin
          logic [KW-1:0] k;
          k = '0;
          for (int p = 6 * m; p < 6 * m + 6 && p < NPR; p++) k = k | mpair[KW*(NPR*(KS*e+i) + p) +: KW];
          mpart[KW*(NMP*(KS*e+i) + m) +: KW] = k;
        end
      end
    end
  end
  always_comb begin
    for (int e = 0; e < E; e++) begin
      for (int i = 0; i < KS; i++) begin
        logic [KW-1:0] k;
        k = '0;
        for (int m = 0; m < NMP; m++) k = k | mpart[KW*(NMP*(KS*e+i) + m) +: KW];
        mg_key[KW*(KS*e+i) +: KW] = k;
      end
    end
  end

  // The merge is written back to its reference's list; a group's lists are cleared when they
  // move to the output buffer.
  always_ff @(posedge clk) begin
    for (int g = 0; g < G; g++) begin
      if (restart || gend_out) begin
        lst_key[KW*KS*g +: KW*KS] <= '1;
      end else if (`BM_BIT(e_v, E, MERGE, 2, g % E) && `BM_ELEM(e_g, GI*E, MERGE, 2, GI, g % E) == GI'(g)) begin
        lst_key[KW*KS*g +: KW*KS] <= mg_key[KW*KS*(g % E) +: KW*KS];
      end
    end
  end

  // ---------------------------------------------------------------- output buffer
  logic [KS*G-1:0] ob_used;                     // slot i+1 of reference g is reported
  logic [KW*KS*G-1:0] ob_key;
  logic [CW-1:0] ob_ry;
  logic ob_last;                                // the frame's last group
  logic [GN-1:0] ob_n;                          // references in the group
  logic [GI-1:0] ob_r;                          // reference being emitted
  logic [G-1:0] ob_nx;                          // one-hot: the next reference to be emitted
  logic [KI-1:0] slot;                          // output slot
  logic slot0, slot_last;                       // slot is 0 / the last (K - 1)
  logic ob_rlast;                               // ob_r is the group's last reference
  logic [CW-1:0] ob_rx;                         // its column
  logic [KS-1:0] cur_used;                      // the list of the reference being emitted
  logic [KW*KS-1:0] cur_key;
  logic [KS-1:0] nxt_used;                      // the list of reference ob_nx, a cycle behind it
  logic [KW*KS-1:0] nxt_key;
  logic fire;
  assign fire = m_valid && m_ready;
  assign frame_done = fire && slot_last && ob_rlast && ob_last;

  // Slot s is reported when the group size 2^floor(log2(1 + kept)) (at most K) exceeds s: when
  // entry 2^b - 2 is valid (not all ones) and K >= 2^b, for 2^b the least power of two above s.
  function automatic logic [KS-1:0] used_slots(input logic [KW*KS-1:0] lk, input logic [KI:0] kg);
    for (int s = 1; s <= KS; s++) begin
      int b;
      b = $clog2(s + 1);
      used_slots[s-1] = !(&lk[KW*((1 << b) - 2) +: KW]) && kg[b];
    end
  endfunction

  always_ff @(posedge clk) begin
    if (restart) begin
      ob_v <= 1'b0;
    end else if (gend_out) begin
      ob_v <= 1'b1;
    end else if (fire && slot_last && ob_rlast) begin
      ob_v <= 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    if (gend_out) begin
      for (int g = 0; g < G; g++) ob_used[KS*g +: KS] <= used_slots(lst_key[KW*KS*g +: KW*KS], kge);
      ob_key <= lst_key;
      cur_used <= used_slots(lst_key[KW*KS-1:0], kge);
      cur_key <= lst_key[KW*KS-1:0];
      ob_ry <= `BM_STAGE(c_ry, CW, LAST, 1);
      ob_rx <= `BM_STAGE(c_x0, CW, LAST, 1);
      ob_last <= c_glast[LAST];
      ob_n <= `BM_STAGE(c_nref, GN, LAST, 1);
      ob_rlast <= `BM_STAGE(c_nref, GN, LAST, 1) == GN'(1);
      ob_r <= '0;
      ob_nx <= G'(2);                           // reference 1 (with G = 1 none: 0)
      slot <= '0;
      slot0 <= 1'b1;
      slot_last <= 1'b0;                        // K >= 2
    end else if (fire) begin
      slot <= slot_last ? '0 : slot + 1'b1;
      slot0 <= slot_last;
      slot_last <= !slot_last && (KI+1)'(slot) + (KI+1)'(2) == k_r;
      if (slot_last) begin
        ob_r <= ob_r + 1'b1;
        ob_nx <= ob_nx << 1;
        ob_rlast <= GN'(ob_r) + GN'(2) == ob_n;
        ob_rx <= min_cw(ob_rx + CW'(STRIDE), LAST_X);
        if (!ob_rlast) begin
          cur_used <= nxt_used;
          cur_key <= nxt_key;
        end
      end
    end
  end

  // The next reference's list is chosen out of G a cycle ahead of its use: ob_nx and the buffer
  // change only when a group enters or a reference's last record leaves, and a reference has
  // K >= 2 records, so a cycle passes before the next last record leaves. The choice is an AND-OR
  // on the one-hot ob_nx: three lists per part (one 6-input LUT per bit), the parts ORed into the
  // register. The parts are kept: as one selection, ABC maps the 18-way choice of the 1080p
  // configuration five LUTs deep (it counts a LUT8 as one level; see the merge's pairs and parts).
  localparam int LW = KS + KW * KS;             // a list with its reported bits
  localparam int NOP = (G + 2) / 3;             // parts of up to three lists
  (* keep *) logic [LW*NOP-1:0] opart;
  always_comb begin
    for (int m = 0; m < NOP; m++) begin
      logic [LW-1:0] l;
      l = '0;
      for (int g = 3 * m; g < 3 * m + 3 && g < G; g++) begin
        l = l | ({ob_used[KS*g +: KS], ob_key[KW*KS*g +: KW*KS]} & {LW{ob_nx[g]}});
      end
      opart[LW*m +: LW] = l;
    end
  end
  always_ff @(posedge clk) begin
    logic [LW-1:0] l;
    l = '0;
    for (int m = 0; m < NOP; m++) l = l | opart[LW*m +: LW];
    {nxt_used, nxt_key} <= l;
  end

  logic [KW-1:0] e;                             // list entry shown in this slot
  logic used;                                   // slot holds a match other than the reference
  always_comb begin
    e = '0;
    used = 1'b0;
    for (int i = 0; i < KS; i++) begin
      if (32'(slot) == i + 1) begin
        e = cur_key[KW*i +: KW];
        used = cur_used[i];
      end
    end
  end
  logic [OIW-1:0] r_dyi, r_dxi;
  logic [DW-1:0] r_dist;
  assign {r_dist, r_dyi, r_dxi} = e;
  assign m_valid = ob_v;
  assign m_dy = used ? OW'(r_dyi) - OW'(R) : '0;
  assign m_dx = used ? OW'(r_dxi) - OW'(R) : '0;
  assign m_dist = slot0 ? '0 : used ? r_dist : SAT;
  assign m_ref_y = ob_ry;
  assign m_ref_x = ob_rx;
  assign m_last = slot_last;
endmodule

`undef BM_STAGES
`undef BM_STAGE
`undef BM_ELEM
`undef BM_BIT
