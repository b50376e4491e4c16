// For benchmarks/bench_bm_squares.py: both forms on one input stream; the DSP form's sum must equal
// the LUT form's four cycles later.
module sq_tb;
  logic clk = 1'b0;
  logic [63:0] x;
  logic [18:0] s_lut, s_dsp;
  logic [18:0] seen [0:7];
  int errors = 0, compared = 0;
  sq_lut l(.clk, .x, .s(s_lut));
  sq_dsp d(.clk, .x, .s(s_dsp));
  always #1 clk = ~clk;
  initial begin
    for (int c = 0; c < 2000; c++) begin
      x = c < 8 ? {8{8'hff}} : (c < 16 ? '0 : {$urandom, $urandom});
      @(posedge clk);
      #0.5;
      seen[c % 8] = s_lut;
      if (c >= 10) begin
        compared++;
        if (s_dsp !== seen[(c - 4) % 8]) errors++;
      end
    end
    $display("compared %0d errors %0d", compared, errors);
    $finish;
  end
endmodule
