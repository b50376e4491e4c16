// topk_insert against a selection of the S smallest keys by repeated minimum search, over
// several lists (reset between), with random gaps in the input (driven on the falling edge).
module topk_tb;
  localparam int KW = 30, S = 15, N = 300, LISTS = 20;
  logic clk = 0, rst = 1, valid = 0;
  logic [KW-1:0] key;
  logic [S*KW-1:0] list;
  logic [KW-1:0] seen [N];
  logic [KW-1:0] want [S];
  bit taken [N];
  int errors = 0, n, best;

  topk_insert #(.KW(KW), .S(S)) dut (.clk, .rst, .valid, .key, .list);
  always #1 clk = ~clk;

  initial begin
    for (int l = 0; l < LISTS; l++) begin
      rst = 1; valid = 0;
      @(negedge clk); @(negedge clk);
      rst = 0;
      n = l == 0 ? 5 : N;  // a list that stays partly empty
      for (int i = 0; i < n; i++) begin
        while ($urandom_range(3) == 0) begin valid = 0; @(negedge clk); end
        seen[i] = {$urandom_range(l % 2 ? 255 : 262143), 12'(i)};  // unique; ties in distance when l is odd
        if (l == 2) seen[i] = {18'(N - i), 12'(i)};  // every key enters
        key = seen[i]; valid = 1;
        @(negedge clk);
      end
      valid = 0;
      @(negedge clk); @(negedge clk);
      for (int i = 0; i < n; i++) taken[i] = 0;
      for (int s = 0; s < S; s++) begin
        best = -1;
        for (int i = 0; i < n; i++)
          if (!taken[i] && (best < 0 || seen[i] < seen[best])) best = i;
        want[s] = best < 0 ? '1 : seen[best];
        if (best >= 0) taken[best] = 1;
        if (list[s*KW +: KW] !== want[s]) errors++;
      end
    end
    $display("lists %0d keys %0d errors %0d", LISTS, N, errors);
    $finish;
  end
endmodule
