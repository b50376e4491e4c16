// One column sum of N1 = 8 squared differences (8-bit magnitudes in, 19-bit sum out), two ways,
// for benchmarks/bench_bm_squares.py.

// As the core computes it: x^2 = 256 h^2 + 32 h l + l^2 for x = 16 h + l, in LUTs; latency 2.
module sq_lut(input logic clk, input logic [63:0] x, output logic [18:0] s);
  function automatic logic [7:0] mul4(input logic [3:0] a, input logic [3:0] b);
    mul4 = 8'(a * b);
  endfunction
  logic [127:0] t;
  always_ff @(posedge clk) begin
    logic [18:0] acc;
    for (int i = 0; i < 8; i++) begin
      logic [7:0] v;
      v = x[8*i +: 8];
      t[16*i +: 16] <= {mul4(v[7:4], v[7:4]), mul4(v[3:0], v[3:0])} + (16'(mul4(v[7:4], v[3:0])) << 5);
    end
    acc = '0;
    for (int i = 0; i < 8; i++) acc = acc + 19'(t[16*i +: 16]);
    s <= acc;
  end
endmodule

// Two squares per DSP48E1: (a 2^9 + b)(a 2^9 - b) = a^2 2^18 - b^2 (both factors fit 18 bits
// signed). The four products are summed along the DSP chain (one product enters per cycle,
// operands delayed to match); 4 b^2 < 2^18, so the sum A 2^18 - B gives B = -P mod 2^18 and
// A = (P + B) / 2^18 once, and the column sum is A + B. Latency 6.
module sq_dsp(input logic clk, input logic [63:0] x, output logic [18:0] s);
  logic signed [17:0] u [4], v [4];
  logic signed [17:0] du [4][3], dv [4][3];   // operand i delayed i cycles
  logic signed [37:0] c [4];
  always_ff @(posedge clk) begin
    logic [17:0] b;
    logic [37:0] q;
    for (int i = 0; i < 4; i++) begin
      u[i] <= $signed({1'b0, x[16*i +: 8], 9'b0}) + $signed({10'b0, x[16*i + 8 +: 8]});
      v[i] <= $signed({1'b0, x[16*i +: 8], 9'b0}) - $signed({10'b0, x[16*i + 8 +: 8]});
      du[i][0] <= u[i];
      dv[i][0] <= v[i];
      du[i][1] <= du[i][0];
      dv[i][1] <= dv[i][0];
      du[i][2] <= du[i][1];
      dv[i][2] <= dv[i][1];
    end
    c[0] <= 38'(u[0] * v[0]);
    c[1] <= c[0] + 38'(du[1][0] * dv[1][0]);
    c[2] <= c[1] + 38'(du[2][1] * dv[2][1]);
    c[3] <= c[2] + 38'(du[3][2] * dv[3][2]);
    b = 18'(-c[3][17:0]);
    q = c[3] + 38'(b);
    s <= 19'(q[37:18]) + 19'(b);
  end
endmodule
