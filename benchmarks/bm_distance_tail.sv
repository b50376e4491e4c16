// The least a distance needs besides its products and its place in a top-K, at stride 3 with
// column sums shared along the row: the block sum slides by three columns (the three new column
// sums in, the three old ones out; 64 squares of 8-bit differences need 22 bits) and the result
// is compared with the threshold tau. Resources only (``bench_bm_topk.py``).
module dist_tail (
    input  logic        clk,
    input  logic [20:0] cols_in,   // the three column sums entering the block (8 squares each)
    input  logic [20:0] cols_out,  // the three leaving it
    input  logic [17:0] tau,
    output logic        below      // the distance is a key: below tau
);
  logic [21:0] block;
  always_ff @(posedge clk) begin
    block <= block + cols_in - cols_out;
    below <= block < tau;
  end
endmodule
