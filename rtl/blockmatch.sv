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
// cycle and a sliding sum of the last N column sums gives the block distance of the reference
// that starts N-1 columns back. A pass streams the group's S = x_last - x0 + N reference columns
// against P offset rows (dy) x D offset columns (dx) at once, in S + D - 1 cycles; passes run back
// to back (bands of P rows, blocks of D columns) with no idle cycle between passes, groups or
// reference rows. Distances below TAU enter one insertion top-K list per group reference, keyed
// by (distance, dy, dx). When a group's last distance is in, its lists move to the output
// buffer, which emits K records (dy, dx, distance) per reference while the next group is
// searched; a group's last pass waits only while the previous group is still being emitted.
//
// Define BM_PLANTED_BUG to drop the bottom row's term of every column sum (used to prove that
// the test bench catches a wrong design).
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
          2'd1: if (cfg_data >= 24'd2 && cfg_data <= 24'(K) && (cfg_data & (cfg_data - 1'b1)) == '0)
                  cfg_k <= (KI+1)'(cfg_data);
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
  always_comb begin
    for (int i = 0; i < DW; i++) SAT[i] = |(tau_r >> i);
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
  logic [CW-1:0] need_lo;                       // lowest row the current reference row needs
  logic frame_done;                             // last record of the search's frame accepted
  logic in_open;                                // a frame's input has started and not ended
  logic sr_on;                                  // the search has a frame
  logic ahead;                                  // the input's frame is the one after the search's
  logic dropping;                               // pixels outside a frame are being dropped
  logic take, eol, bad, abort, abort_sr, restart;
  logic room;                                   // the next row to write (counted in the search's frame) is free

  // Outside a frame every pixel is taken: a start of frame starts one, any other is dropped. In
  // a frame, a start of frame or an end of line in the wrong place abandons it (a start of frame
  // then starts the next one at once); when it is the search's frame, the search is abandoned too.
  assign need_lo = ref_y > RAD ? ref_y - RAD : '0;
  assign room = (in_open ? (ahead ? 17'(h_r) + 17'(in_row) : 17'(in_row)) : 17'(h_r)) < 17'(need_lo) + 17'(L);
  assign s_ready = in_open ? room : !sr_on || (!ahead && room);
  assign take = s_valid && s_ready;
  assign eol = in_col == i_w - 1'b1;
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
      wr_slot <= '0;
      base_slot <= '0;
    end else begin
      if (start) begin
        in_open <= 1'b1;
        in_row <= '0;
        in_col <= CW'(1);
        wr_slot <= start_ahead ? (abort ? base_slot : wr_slot) : '0;
        base_slot <= start_ahead ? (abort ? base_slot : wr_slot) : '0;
        ahead <= start_ahead;
      end else if (abort) begin
        in_open <= 1'b0;
        ahead <= 1'b0;
      end else if (take && in_open) begin
        if (eol) begin
          in_col <= '0;
          in_row <= in_row + 1'b1;
          wr_slot <= wr_slot == SW'(L - 1) ? '0 : wr_slot + 1'b1;
          if (in_row == i_h - 1'b1) in_open <= 1'b0;
        end else begin
          in_col <= in_col + 1'b1;
        end
      end
      if (switch_frame) ahead <= 1'b0;
      if (start && !start_ahead) sr_on <= 1'b1;
      else if (restart && !switch_frame) sr_on <= 1'b0;
    end
  end

  logic [AW-1:0] ra_col, rd_col;                // reference column (port A), candidate column (port B)
  logic [8*L-1:0] qa, qb;                       // every buffer's pixel, one cycle later
  genvar gm;
  generate
    for (gm = 0; gm < L; gm++) begin : g_row
      logic [7:0] mem [0:W-1];
      logic [7:0] a_q, b_q;
      logic we;
      logic [AW-1:0] a_addr;
      assign we = start ? (start_ahead ? (abort ? base_slot : wr_slot) : '0) == SW'(gm)
                        : take && in_open && wr_slot == SW'(gm);
      assign a_addr = !we ? ra_col : start ? '0 : in_col[AW-1:0];
      always_ff @(posedge clk) begin
        if (we) mem[a_addr] <= s_data;
        a_q <= mem[a_addr];
        b_q <= mem[rd_col];
      end
      assign qa[8*gm +: 8] = a_q;
      assign qb[8*gm +: 8] = b_q;
    end
  endgenerate

  // x * x from its partial products, x_b x_c 2^(b+c) twice for b < c: adders in LUTs, not a
  // DSP multiplier, and half the partial products of a general 8 x 8 product.
  function automatic logic [15:0] square8(input logic [7:0] x);
    logic [15:0] acc;
    acc = '0;
    for (int b = 0; b < 8; b++) begin
      acc = acc + (16'(x[b]) << (2 * b));
      for (int c = b + 1; c < 8; c++) acc = acc + (16'(x[b] & x[c]) << (b + c + 1));
    end
    square8 = acc;
  endfunction

  function automatic logic [SW-1:0] wrap_add(input logic [SW-1:0] base, input logic [CW-1:0] step);
    logic [CW-1:0] sum;
    sum = CW'(base) + step;                     // step < L
    wrap_add = SW'(sum >= CW'(L) ? sum - CW'(L) : sum);
  endfunction

  // ---------------------------------------------------------------- issue: passes of a group
  typedef enum logic [1:0] {S_WAIT, S_RUN, S_DONE} state_t;
  state_t state;
  logic [CW-1:0] x0;                            // first reference of the group
  logic [CW-1:0] band_y;                        // first candidate row of the pass
  logic [CW-1:0] dxi_b;                         // first offset column of the pass, dx + n
  logic [CW-1:0] t;                             // cycle of the pass
  logic [SW-1:0] ref_slot, band_slot;           // buffers holding rows ref_y and band_y

  logic [CW-1:0] cy_lo, cy_hi, x_last, t_end, dxi_lo, dxi_hi, nx0, next_ref_y;
  logic row_done, last_block, last_band, last_issue, iss_v, stall;
  logic [SW-1:0] lo_slot, next_ref_slot, next_band_slot;
  logic d1_gend, d2_gend, d3_gend, d4_gend, ob_v;

  assign cy_lo = ref_y > RAD ? ref_y - RAD : '0;
  assign cy_hi = min_cw(ref_y + RAD, LAST_Y);
  assign x_last = min_cw(x0 + CW'((G - 1) * STRIDE), LAST_X);
  assign t_end = x_last - x0 + CW'(N + D - 2);  // S + D - 2
  assign dxi_hi = RAD + min_cw(RAD, LAST_X - x0);
  assign row_done = !(x0 + CW'((G - 1) * STRIDE) + 1'b1 <= LAST_X);
  assign nx0 = min_cw(x0 + CW'(G * STRIDE), LAST_X);
  assign dxi_lo = RAD - min_cw(RAD, x_last);
  assign next_ref_y = min_cw(ref_y + CW'(STRIDE), LAST_Y);
  assign last_block = dxi_b + CW'(D) > dxi_hi;
  assign last_band = band_y + CW'(P) > cy_hi;
  assign last_issue = t == t_end && last_block && last_band;
  assign stall = last_issue && (ob_v || d1_gend || d2_gend || d3_gend || d4_gend);
  assign iss_v = state == S_RUN && !stall;

  logic rows_ready;                             // every row the reference row needs is stored
  assign rows_ready = sr_on && (ahead || !in_open || in_row >= min_cw(ref_y + RAD + CW'(N), h_r));
  assign lo_slot = wrap_add(ref_slot, ref_y - cy_lo == '0 ? '0 : CW'(L) - (ref_y - cy_lo));
  assign next_ref_slot = wrap_add(ref_slot, next_ref_y - ref_y);
  assign next_band_slot = wrap_add(band_slot, CW'(P));

  // The next group's first offset column (its last reference decides the left clip).
  function automatic logic [CW-1:0] first_dxi(input logic [CW-1:0] gx0, input logic [CW-1:0] lx);
    first_dxi = RAD - min_cw(RAD, min_cw(gx0 + CW'((G - 1) * STRIDE), lx));
  endfunction

  logic [CW-1:0] cc;                            // candidate column + n
  assign cc = x0 + t + dxi_b;
  assign rd_col = cc >= RAD && cc - RAD < w_r ? AW'(cc - RAD) : '0;
  assign ra_col = x0 + t < w_r ? AW'(x0 + t) : '0;

  always_ff @(posedge clk) begin
    if (restart) begin
      state <= S_WAIT;
      ref_y <= '0;
      ref_slot <= switch_frame ? base_slot : '0;
      x0 <= '0;
      band_y <= '0;
      band_slot <= '0;
      dxi_b <= '0;
      t <= '0;
    end else begin
      case (state)
        S_WAIT: if (rows_ready) begin
          state <= S_RUN;
          band_y <= cy_lo;
          band_slot <= lo_slot;
          dxi_b <= dxi_lo;
          t <= '0;
        end
        S_RUN: if (!stall) begin
          if (t != t_end) begin
            t <= t + 1'b1;
          end else begin
            t <= '0;
            if (!last_block) begin
              dxi_b <= dxi_b + CW'(D);
            end else if (!last_band) begin
              dxi_b <= dxi_lo;
              band_y <= band_y + CW'(P);
              band_slot <= next_band_slot;
            end else if (!row_done) begin
              x0 <= nx0;
              dxi_b <= first_dxi(nx0, LAST_X);
              band_y <= cy_lo;
              band_slot <= lo_slot;
            end else begin
              x0 <= '0;
              if (ref_y == LAST_Y) begin
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

  // ---------------------------------------------------------------- stage 1: rotate, shift
  logic d1_v, d1_glast;
  logic [CW-1:0] d1_t, d1_band_y, d1_dxi, d1_ry, d1_x0;
  logic [SW-1:0] d1_bslot, d1_rslot;
  always_ff @(posedge clk) begin
    d1_v <= iss_v && !restart;
    d1_gend <= iss_v && last_issue && !restart;
    d1_glast <= row_done && ref_y == LAST_Y;
    d1_t <= t;
    d1_band_y <= band_y;
    d1_dxi <= dxi_b;
    d1_ry <= ref_y;
    d1_x0 <= x0;
    d1_bslot <= band_slot;
    d1_rslot <= ref_slot;
  end

  logic [8*LANES-1:0] lane;                     // candidate rows band_y .. band_y+LANES-1
  logic [8*N-1:0] refpix;                       // reference rows ref_y .. ref_y+N-1
  always_comb begin                             // multiplexers written out (no index arithmetic)
    lane = '0;
    refpix = '0;
    for (int m = 0; m < L; m++) begin
      for (int l = 0; l < LANES; l++) if (wrap_add(d1_bslot, CW'(l)) == SW'(m)) lane[8*l +: 8] = qb[8*m +: 8];
      for (int i = 0; i < N; i++) if (wrap_add(d1_rslot, CW'(i)) == SW'(m)) refpix[8*i +: 8] = qa[8*m +: 8];
    end
  end

  // refc: lane k's reference column (k cycles old); candc: this cycle's candidate column.
  logic [8*N*D-1:0] refc;
  logic [8*LANES-1:0] candc;
  always_ff @(posedge clk) begin
    if (d1_v) begin
      candc <= lane;
      refc <= (8*N*D)'({refc, refpix});
    end
  end

  // ---------------------------------------------------------------- stage 2: column sums
  logic d2_v, d2_glast;
  logic [CW-1:0] d2_t, d2_band_y, d2_dxi, d2_ry, d2_x0;
  always_ff @(posedge clk) begin
    d2_v <= d1_v && !restart;
    d2_gend <= d1_gend && !restart;
    d2_glast <= d1_glast;
    d2_t <= d1_t;
    d2_band_y <= d1_band_y;
    d2_dxi <= d1_dxi;
    d2_ry <= d1_ry;
    d2_x0 <= d1_x0;
  end

  logic [CSW*P*D-1:0] cs;                       // column sum of unit u, lane k at [CSW*(u*D+k)]
  always_comb begin
    for (int u = 0; u < P; u++) begin
      for (int k = 0; k < D; k++) begin
        logic [CSW-1:0] acc;
        acc = '0;
`ifdef BM_PLANTED_BUG
        for (int i = 0; i < N - 1; i++) begin
`else
        for (int i = 0; i < N; i++) begin
`endif
          logic [7:0] a, b, ad;
          logic [15:0] sq;
          a = refc[8*(N*k + i) +: 8];
          b = candc[8*(u + i) +: 8];
          ad = a > b ? a - b : b - a;
          sq = square8(ad);
          acc = acc + (METRIC == 0 ? CSW'(sq) : CSW'(ad));
        end
        cs[CSW*(u*D+k) +: CSW] = acc;
      end
    end
  end

  logic [CSW*N*P*D-1:0] hist;                   // last N column sums per unit and lane, newest first
  always_ff @(posedge clk) begin
    if (d2_v) begin
      for (int l = 0; l < P * D; l++) begin
        hist[CSW*N*l +: CSW*N] <= {hist[CSW*N*l +: CSW*(N-1)], cs[CSW*l +: CSW]};
      end
    end
  end

  // ---------------------------------------------------------------- stage 3: block distances
  logic d3_v, d3_glast;
  logic [CW-1:0] d3_t, d3_band_y, d3_dxi, d3_ry, d3_x0;
  always_ff @(posedge clk) begin
    d3_v <= d2_v && !restart;
    d3_gend <= d2_gend && !restart;
    d3_glast <= d2_glast;
    d3_t <= d2_t;
    d3_band_y <= d2_band_y;
    d3_dxi <= d2_dxi;
    d3_ry <= d2_ry;
    d3_x0 <= d2_x0;
  end

  logic [FW*P*D-1:0] bdist;
  always_comb begin
    for (int l = 0; l < P * D; l++) begin
      logic [FW-1:0] acc;
      acc = '0;
      for (int j = 0; j < N; j++) acc = acc + FW'(hist[CSW*(N*l + j) +: CSW]);
      bdist[FW*l +: FW] = acc;
    end
  end

  // The distances of group reference g come from lane k = t - (N-1) - (x_g - x0), P at a time;
  // they go to engine g mod E, with the reference's index.
  logic [CW-1:0] d3_cy_hi;
  assign d3_cy_hi = min_cw(d3_ry + RAD, LAST_Y);
  logic [E*P-1:0] ins_v;
  logic [KW*E*P-1:0] ins_key;
  logic [GI*E-1:0] ins_g;
  always_ff @(posedge clk) begin
    ins_v <= '0;
    for (int g = 0; g < G; g++) begin
      logic [CW-1:0] gx, rel, k, dxi;
      logic emit;
      gx = gref_x(d3_x0, g, LAST_X);
      rel = gx - d3_x0 + CW'(N - 1);
      k = d3_t - rel;
      emit = d3_v && gref_v(d3_x0, g, LAST_X) && d3_t >= rel && k < CW'(D);
      dxi = d3_dxi + k;
      if (emit) begin
        ins_g[GI*(g % E) +: GI] <= GI'(g);
        for (int u = 0; u < P; u++) begin
          logic [CW-1:0] cy;
          logic [FW-1:0] d;
          cy = d3_band_y + CW'(u);
          d = '0;
          for (int j = 0; j < D; j++) if (k == CW'(j)) d = bdist[FW*(u*D + j) +: FW];
          ins_v[(g % E)*P+u] <= !restart && cy <= d3_cy_hi && dxi <= CW'(2 * R) && gx + dxi >= RAD
                                && gx + dxi <= LAST_X + RAD && !(cy == d3_ry && dxi == RAD) && TW'(d) < TW'(tau_r);
          ins_key[KW*((g % E)*P+u) +: KW] <= {d[DW-1:0], OIW'(cy + RAD - d3_ry), OIW'(dxi)};
        end
      end
    end
  end

  // ---------------------------------------------------------------- stage 4: top-K insert
  logic d4_glast;
  logic [CW-1:0] d4_ry, d4_x0;
  always_ff @(posedge clk) begin
    d4_gend <= d3_gend && !restart;
    d4_glast <= d3_glast;
    d4_ry <= d3_ry;
    d4_x0 <= d3_x0;
  end

  // Each engine reads the list of its reference, merges its P keys into it and writes it back.
  // The merge ranks every entry and key at once (keys are unique: each offset enters a list
  // once): an entry's new slot is its old slot plus the keys below it, a key's slot is the
  // entries and the keys below it; a slot past the end drops out. All comparisons are
  // independent, so the depth does not grow with P as an insertion cascade's would.
  localparam int RW = $clog2(KS + P + 1);       // rank width
  logic [KS*G-1:0] lst_v, nxt_v;                // per reference: sorted, valid entries first
  logic [KW*KS*G-1:0] lst_key, nxt_key;
  always_comb begin
    nxt_v = lst_v;
    nxt_key = lst_key;
    for (int e = 0; e < E; e++) begin
      logic [KS-1:0] lv, cv;
      logic [KW*KS-1:0] lk, ck;
      logic [KS*P-1:0] below;                   // entry j < key u, at [j*P + u]
      logic [RW*KS-1:0] rank_l;
      logic [RW*P-1:0] rank_k;
      lv = '0;
      lk = '0;
      for (int g = e; g < G; g += E) begin
        if (ins_g[GI*e +: GI] == GI'(g)) begin
          lv = lst_v[KS*g +: KS];
          lk = lst_key[KW*KS*g +: KW*KS];
        end
      end
      for (int j = 0; j < KS; j++) begin
        for (int u = 0; u < P; u++) below[j*P + u] = lk[KW*j +: KW] < ins_key[KW*(e*P+u) +: KW];
      end
      for (int j = 0; j < KS; j++) begin
        logic [RW-1:0] r;
        r = RW'(j);
        for (int u = 0; u < P; u++) r = r + RW'(ins_v[e*P+u] && !below[j*P + u]);
        rank_l[RW*j +: RW] = r;
      end
      for (int u = 0; u < P; u++) begin
        logic [RW-1:0] r;
        r = '0;
        for (int j = 0; j < KS; j++) r = r + RW'(lv[j] && below[j*P + u]);
        for (int w = 0; w < P; w++) begin
          if (w != u) r = r + RW'(ins_v[e*P+w] && ins_key[KW*(e*P+w) +: KW] < ins_key[KW*(e*P+u) +: KW]);
        end
        rank_k[RW*u +: RW] = r;
      end
      cv = '0;
      ck = '0;
      for (int i = 0; i < KS; i++) begin
        for (int j = 0; j < KS; j++) begin
          if (lv[j] && rank_l[RW*j +: RW] == RW'(i)) begin
            cv[i] = 1'b1;
            ck[KW*i +: KW] = ck[KW*i +: KW] | lk[KW*j +: KW];
          end
        end
        for (int u = 0; u < P; u++) begin
          if (ins_v[e*P+u] && rank_k[RW*u +: RW] == RW'(i)) begin
            cv[i] = 1'b1;
            ck[KW*i +: KW] = ck[KW*i +: KW] | ins_key[KW*(e*P+u) +: KW];
          end
        end
      end
      for (int g = e; g < G; g += E) begin
        if (ins_g[GI*e +: GI] == GI'(g)) begin
          nxt_v[KS*g +: KS] = cv;
          nxt_key[KW*KS*g +: KW*KS] = ck;
        end
      end
    end
  end

  // ---------------------------------------------------------------- output buffer
  logic [KS*G-1:0] ob_lv;
  logic [KW*KS*G-1:0] ob_key;
  logic [CW-1:0] ob_ry, ob_x0;
  logic ob_last;                                // the frame's last group
  logic [GI-1:0] ob_r;                          // reference being emitted
  logic [KI-1:0] slot;                          // output slot
  logic ob_rlast;                               // ob_r is the group's last reference
  assign ob_rlast = 32'(ob_r) == G - 1 || !gref_v(ob_x0, 32'(ob_r) + 1, LAST_X);
  assign frame_done = m_valid && m_ready && m_last && ob_rlast && ob_last;

  always_ff @(posedge clk) begin
    if (restart) begin
      lst_v <= '0;
      lst_key <= '0;
      ob_v <= 1'b0;
      ob_r <= '0;
      slot <= '0;
    end else begin
      if (d4_gend) begin
        lst_v <= '0;
        lst_key <= '0;
        ob_lv <= nxt_v;
        ob_key <= nxt_key;
        ob_ry <= d4_ry;
        ob_x0 <= d4_x0;
        ob_last <= d4_glast;
        ob_v <= 1'b1;
      end else begin
        lst_v <= nxt_v;
        lst_key <= nxt_key;
      end
      if (m_valid && m_ready) begin
        slot <= m_last ? '0 : slot + 1'b1;
        if (m_last) begin
          ob_r <= ob_rlast ? '0 : ob_r + 1'b1;
          if (ob_rlast) ob_v <= 1'b0;
        end
      end
    end
  end

  logic [KS-1:0] rv;                            // the list of the reference being emitted
  logic [KW*KS-1:0] rk;
  always_comb begin
    rv = '0;
    rk = '0;
    for (int g = 0; g < G; g++) begin
      if (32'(ob_r) == g) begin
        rv = ob_lv[KS*g +: KS];
        rk = ob_key[KW*KS*g +: KW*KS];
      end
    end
  end

  logic [KI:0] count;                           // group size: 1 + kept, rounded down to 2^m
  always_comb begin
    logic [KI:0] found;
    found = (KI+1)'(1);
    for (int i = 0; i < KS; i++) found = found + (KI+1)'(rv[i] && (KI+1)'(i + 2) <= k_r);
    count = '0;
    for (int b = 0; b <= KI; b++) begin
      if (found >= (KI+1)'(1 << b)) count = (KI+1)'(1 << b);
    end
  end

  logic [KW-1:0] e;                             // list entry shown in this slot
  always_comb begin
    e = '0;
    for (int i = 0; i < KS; i++) if (32'(slot) == i + 1) e = rk[KW*i +: KW];
  end
  logic used;                                   // slot holds a match other than the reference
  logic [OIW-1:0] e_dyi, e_dxi;
  logic [DW-1:0] e_dist;
  assign used = slot != '0 && (KI+1)'(slot) < count;
  assign {e_dist, e_dyi, e_dxi} = e;
  assign m_valid = ob_v;
  assign m_dy = used ? OW'(e_dyi) - OW'(R) : '0;
  assign m_dx = used ? OW'(e_dxi) - OW'(R) : '0;
  assign m_dist = slot == '0 ? '0 : used ? e_dist : SAT;
  assign m_ref_y = ob_ry;
  assign m_ref_x = gref_x(ob_x0, 32'(ob_r), LAST_X);
  assign m_last = (KI+1)'(slot) == k_r - 1'b1;
endmodule
