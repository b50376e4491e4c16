// Stream-based block matcher for BM3D (spec: docs/blockmatch.md).
//
// Pixels arrive in raster order on s_valid/s_ready/s_data and are kept in L full-row line
// buffers (one synchronous-read memory per row, inferred as block RAM). For each reference
// block, in raster order, the core loads the reference into registers, then sweeps bands of P
// candidate rows: every cycle one column of P+N-1 pixels is read, each of the P distance units
// shifts it into its N x N candidate window and produces one full block distance. Candidates
// with distance < TAU enter an insertion top-K list keyed by (distance, dy, dx). Finally K
// records (dy, dx, distance) leave on m_valid/m_ready, slot 0 being the reference itself.
//
// Define BM_PLANTED_BUG to drop the last term of every block distance (used to prove that the
// test bench catches a wrong design).
module blockmatch #(
    parameter int W = 64,          // frame width (pixels)
    parameter int H = 64,          // frame height (rows)
    parameter int N = 8,           // block side N1 (4 or 8)
    parameter int WS = 39,         // search window side 2n+1 (odd)
    parameter int STRIDE = 3,      // reference stride; the last row/column is forced
    parameter int METRIC = 0,      // 0: SSD, 1: SAD
    parameter int K = 16,          // group size (power of two); slot 0 is the reference
    parameter int TAU = 192000,    // keep candidates with distance < TAU
    parameter int P = 4            // parallel distance units (candidate rows per sweep)
) (
    input  logic clk,
    input  logic rst,                  // synchronous, active high
    input  logic s_valid,
    output logic s_ready,
    input  logic [7:0] s_data,
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
  localparam int LANES = P + N - 1;             // rows read per cycle
  localparam int CW = 16;                       // coordinate width
  localparam int DW = $clog2(TAU + 1);          // distance field width = bit_length(TAU)
  localparam int OW = $clog2(R + 1) + 1;        // signed offset width
  localparam int OIW = $clog2(WS);              // offset index width (dy + n)
  localparam int KS = K - 1;                    // list slots besides the reference
  localparam int KW = DW + 2 * OIW;             // list key {distance, dy + n, dx + n}
  localparam int FW = 2 * 8 + 2 * $clog2(N);    // full distance width
  localparam int TW = FW > DW ? FW : DW;        // width of the threshold comparison
  localparam logic [CW-1:0] LAST_Y = CW'(H - N);
  localparam logic [CW-1:0] LAST_X = CW'(W - N);
  localparam logic [CW-1:0] RAD = CW'(R);
  localparam logic [TW-1:0] TAU_T = TW'(TAU);
  localparam logic [DW-1:0] SAT = {DW{1'b1}};

  // ---------------------------------------------------------------- input and line buffers
  logic [CW-1:0] in_row, in_col;                // next pixel to write
  logic [$clog2(L)-1:0] wr_slot;                // in_row mod L
  logic [CW-1:0] ref_y, ref_x;                  // current reference block
  logic [CW-1:0] need_lo;                       // lowest row the current reference row needs
  logic frame_done;                             // last record of the frame accepted

  assign need_lo = ref_y > RAD ? ref_y - RAD : '0;
  assign s_ready = (in_row < CW'(H)) && (in_row < need_lo + CW'(L));

  always_ff @(posedge clk) begin
    if (rst || frame_done) begin
      in_row <= '0;
      in_col <= '0;
      wr_slot <= '0;
    end else if (s_valid && s_ready) begin
      if (in_col == CW'(W - 1)) begin
        in_col <= '0;
        in_row <= in_row + 1'b1;
        wr_slot <= wr_slot == $clog2(L)'(L - 1) ? '0 : wr_slot + 1'b1;
      end else begin
        in_col <= in_col + 1'b1;
      end
    end
  end

  logic [CW-1:0] rd_col;                        // column read this cycle (all buffers)
  logic [8*L-1:0] rd_q;                         // pixel of every buffer, one cycle later
  genvar gm;
  generate
    for (gm = 0; gm < L; gm++) begin : g_row
      logic [7:0] mem [0:W-1];
      logic [7:0] q;
      always_ff @(posedge clk) begin
        if (s_valid && s_ready && wr_slot == $clog2(L)'(gm)) mem[in_col[$clog2(W)-1:0]] <= s_data;
        q <= mem[rd_col[$clog2(W)-1:0]];
      end
      assign rd_q[8*gm +: 8] = q;
    end
  endgenerate

  // ---------------------------------------------------------------- control
  typedef enum logic [2:0] {S_WAIT, S_REF, S_CAND, S_DRAIN, S_OUT} state_t;
  state_t state;
  logic [CW-1:0] cy_lo, cy_hi, cx_lo, cx_hi;    // clipped candidate range of the reference
  logic [CW-1:0] band_y;                        // first candidate row of the current band
  logic [CW-1:0] col_end;                       // last column of the current sweep
  logic [$clog2(K)-1:0] slot;                   // output slot
  logic [2:0] drain;

  assign cy_lo = ref_y > RAD ? ref_y - RAD : '0;
  assign cy_hi = ref_y + RAD < LAST_Y ? ref_y + RAD : LAST_Y;
  assign cx_lo = ref_x > RAD ? ref_x - RAD : '0;
  assign cx_hi = ref_x + RAD < LAST_X ? ref_x + RAD : LAST_X;

  logic rows_ready;                             // every row the reference row needs is stored
  logic [CW-1:0] need_hi;
  assign need_hi = ref_y + RAD + CW'(N) < CW'(H) ? ref_y + RAD + CW'(N) : CW'(H);
  assign rows_ready = in_row >= need_hi;

  logic [CW-1:0] next_ref_y, next_ref_x;
  assign next_ref_x = ref_x + CW'(STRIDE) > LAST_X ? LAST_X : ref_x + CW'(STRIDE);
  assign next_ref_y = ref_y + CW'(STRIDE) > LAST_Y ? LAST_Y : ref_y + CW'(STRIDE);

  // Buffers holding rows ref_y and band_y (row mod L), tracked without dividers.
  localparam int SW = $clog2(L);
  logic [SW-1:0] ref_slot, band_slot, lo_slot, next_ref_slot, next_band_slot;
  function automatic logic [SW-1:0] wrap_add(input logic [SW-1:0] base, input logic [CW-1:0] step);
    logic [CW-1:0] sum;
    sum = CW'(base) + step;                     // step < L
    wrap_add = SW'(sum >= CW'(L) ? sum - CW'(L) : sum);
  endfunction
  assign lo_slot = wrap_add(ref_slot, ref_y - cy_lo == '0 ? '0 : CW'(L) - (ref_y - cy_lo));
  assign next_ref_slot = wrap_add(ref_slot, next_ref_y - ref_y);
  assign next_band_slot = wrap_add(band_slot, CW'(P));

  // Read issue (stage 0): rd_col and these flags describe the column read this cycle.
  logic iss_v, iss_ref, iss_full;               // valid; reference load; window now complete
  logic [SW-1:0] iss_slot;                      // buffer holding the sweep's first row
  logic list_clear;

  assign iss_v = state == S_REF || state == S_CAND;
  assign iss_ref = state == S_REF;
  assign iss_full = state == S_CAND && rd_col >= cx_lo + CW'(N - 1);
  assign iss_slot = iss_ref ? ref_slot : band_slot;
  assign m_valid = state == S_OUT;
  assign frame_done = m_valid && m_ready && slot == $clog2(K)'(K - 1) && ref_y == LAST_Y && ref_x == LAST_X;
  assign list_clear = m_valid && m_ready && slot == $clog2(K)'(K - 1);

  always_ff @(posedge clk) begin
    if (rst || frame_done) begin
      state <= S_WAIT;
      ref_y <= '0;
      ref_x <= '0;
      ref_slot <= '0;
      band_slot <= '0;
      rd_col <= '0;
      band_y <= '0;
      col_end <= '0;
      slot <= '0;
      drain <= '0;
    end else begin
      case (state)
        S_WAIT: if (rows_ready) begin
          state <= S_REF;
          rd_col <= ref_x;
          col_end <= ref_x + CW'(N - 1);
        end
        S_REF: if (rd_col == col_end) begin
          state <= S_CAND;
          band_y <= cy_lo;
          band_slot <= lo_slot;
          rd_col <= cx_lo;
          col_end <= cx_hi + CW'(N - 1);
        end else begin
          rd_col <= rd_col + 1'b1;
        end
        S_CAND: if (rd_col == col_end) begin
          rd_col <= cx_lo;
          band_y <= band_y + CW'(P);
          band_slot <= next_band_slot;
          if (band_y + CW'(P) > cy_hi) begin
            state <= S_DRAIN;
            drain <= 3'd3;
          end
        end else begin
          rd_col <= rd_col + 1'b1;
        end
        S_DRAIN: if (drain == 3'd1) state <= S_OUT; else drain <= drain - 1'b1;
        default: if (m_ready) begin       // S_OUT
          slot <= slot + 1'b1;
          if (slot == $clog2(K)'(K - 1)) begin
            state <= S_WAIT;
            ref_x <= ref_x == LAST_X ? '0 : next_ref_x;
            if (ref_x == LAST_X) begin
              ref_y <= next_ref_y;
              ref_slot <= next_ref_slot;
            end
          end
        end
      endcase
    end
  end

  // ---------------------------------------------------------------- stage 1: rotate, shift
  logic d1_v, d1_ref, d1_full;
  logic [SW-1:0] d1_slot;
  logic [CW-1:0] d1_y, d1_x;                    // band row and candidate column of the window
  always_ff @(posedge clk) begin
    d1_v <= iss_v && !rst;
    d1_ref <= iss_ref;
    d1_full <= iss_full;
    d1_slot <= iss_slot;
    d1_y <= band_y;
    d1_x <= rd_col - CW'(N - 1);
  end

  logic [8*LANES-1:0] lane;                     // pixel of rows band_y .. band_y+LANES-1
  always_comb begin
    for (int l = 0; l < LANES; l++) begin
      lane[8*l +: 8] = rd_q[8*32'(wrap_add(d1_slot, CW'(l))) +: 8];
    end
  end

  // Windows: column c of row i at bits [8*(i*N+c) +: 8]; the newest column is c = N-1.
  logic [8*N*N-1:0] ref_win;
  logic [8*N*N*P-1:0] cand_win;            // unit u at bits [8*N*N*u +: 8*N*N]
  always_ff @(posedge clk) begin
    if (d1_v && d1_ref) begin
      for (int i = 0; i < N; i++) begin
        ref_win[8*i*N +: 8*N] <= {lane[8*i +: 8], ref_win[8*i*N + 8 +: 8*(N-1)]};
      end
    end
    if (d1_v && !d1_ref) begin
      for (int u = 0; u < P; u++) begin
        for (int i = 0; i < N; i++) begin
          cand_win[8*(N*N*u + i*N) +: 8*N] <= {lane[8*(u+i) +: 8], cand_win[8*(N*N*u + i*N) + 8 +: 8*(N-1)]};
        end
      end
    end
  end

  // ---------------------------------------------------------------- stage 2: distances
  logic d2_full;
  logic [CW-1:0] d2_y, d2_x;
  always_ff @(posedge clk) begin
    d2_full <= d1_v && d1_full && !rst;
    d2_y <= d1_y;
    d2_x <= d1_x;
  end

  logic [FW*P-1:0] bdist;
  always_comb begin
    for (int u = 0; u < P; u++) begin
      logic [FW-1:0] acc;
      acc = '0;
`ifdef BM_PLANTED_BUG
      for (int e = 0; e < N * N - 1; e++) begin
`else
      for (int e = 0; e < N * N; e++) begin
`endif
        logic [7:0] a, b, ad;
        a = ref_win[8*e +: 8];
        b = cand_win[8*(N*N*u + e) +: 8];
        ad = a > b ? a - b : b - a;
        acc = acc + (METRIC == 0 ? FW'(ad) * FW'(ad) : FW'(ad));
      end
      bdist[FW*u +: FW] = acc;
    end
  end

  // ---------------------------------------------------------------- stage 3: top-K insert
  logic [P-1:0] ins_v;
  logic [KW*P-1:0] ins_key;
  always_ff @(posedge clk) begin
    for (int u = 0; u < P; u++) begin
      logic [CW-1:0] cy;
      cy = d2_y + CW'(u);
      ins_v[u] <= d2_full && !rst && cy <= cy_hi && !(cy == ref_y && d2_x == ref_x)
                  && TW'(bdist[FW*u +: FW]) < TAU_T;
      ins_key[KW*u +: KW] <= {bdist[FW*u +: DW], OIW'(cy + RAD - ref_y), OIW'(d2_x + RAD - ref_x)};
    end
  end

  logic [KS-1:0] lst_v;                          // sorted; valid entries first
  logic [KW*KS-1:0] lst_key;
  logic [KS-1:0] nxt_v;
  logic [KW*KS-1:0] nxt_key;
  always_comb begin
    logic [KS-1:0] cv;
    logic [KW*KS-1:0] ck;
    nxt_v = lst_v;
    nxt_key = lst_key;
    for (int u = 0; u < P; u++) begin
      logic prev, cur;
      cv = nxt_v;
      ck = nxt_key;
      prev = 1'b0;
      for (int i = 0; i < KS; i++) begin
        cur = ins_v[u] && (!cv[i] || ins_key[KW*u +: KW] < ck[KW*i +: KW]);
        if (cur && !prev) begin
          nxt_v[i] = 1'b1;
          nxt_key[KW*i +: KW] = ins_key[KW*u +: KW];
        end else if (cur) begin
          nxt_v[i] = cv[i == 0 ? 0 : i - 1];
          nxt_key[KW*i +: KW] = ck[KW*(i == 0 ? 0 : i - 1) +: KW];
        end
        prev = cur;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst || list_clear) begin
      lst_v <= '0;
      lst_key <= '0;
    end else begin
      lst_v <= nxt_v;
      lst_key <= nxt_key;
    end
  end

  // ---------------------------------------------------------------- output
  logic [$clog2(K):0] count;                    // group size: 1 + kept, rounded down to 2^m
  always_comb begin
    logic [$clog2(K):0] found;
    found = ($clog2(K)+1)'(1);
    for (int i = 0; i < KS; i++) found = found + ($clog2(K)+1)'(lst_v[i]);
    count = '0;
    for (int b = 0; b <= $clog2(K); b++) begin
      if (found >= ($clog2(K)+1)'(1 << b)) count = ($clog2(K)+1)'(1 << b);
    end
  end

  logic [KW-1:0] e;                             // list entry shown in this slot
  assign e = lst_key[KW*(32'(slot) == 0 ? 0 : 32'(slot) - 1) +: KW];
  logic used;                                   // slot holds a match other than the reference
  logic [OIW-1:0] e_dyi, e_dxi;
  logic [DW-1:0] e_dist;
  assign used = slot != '0 && ($clog2(K)+1)'(slot) < count;
  assign {e_dist, e_dyi, e_dxi} = e;
  assign m_dy = used ? OW'(e_dyi) - OW'(R) : '0;
  assign m_dx = used ? OW'(e_dxi) - OW'(R) : '0;
  assign m_dist = slot == '0 ? '0 : used ? e_dist : SAT;
  assign m_ref_y = ref_y;
  assign m_ref_x = ref_x;
  assign m_last = slot == $clog2(K)'(K - 1);
endmodule
