// One reference's list of the S = K - 1 smallest keys, taking one key a cycle (insertion): the
// least a top-K that must accept a key every cycle per list needs, one comparison and one
// selection per slot. Keys are unique (distance, dy, dx) as in the core; an empty slot is all ones.
module topk_insert #(
    parameter int KW = 30,  // key width {distance, dy, dx}: 18 + 6 + 6 at the 1080p configuration
    parameter int S = 15    // slots, K - 1
) (
    input  logic          clk,
    input  logic          rst,
    input  logic          valid,
    input  logic [KW-1:0] key,
    output logic [S*KW-1:0] list
);
  logic          v;
  logic [KW-1:0] k;
  logic [KW-1:0] slot [S];
  logic [S-1:0]  below;  // the key sorts before slot i

  always_ff @(posedge clk) begin  // the key registered: slot to slot is the only logic path
    v <= valid & ~rst;
    k <= key;
  end

  for (genvar i = 0; i < S; i++) begin : g_slot
    assign below[i] = k < slot[i];
    always_ff @(posedge clk) begin
      if (rst) slot[i] <= '1;
      else if (v && below[i]) begin
        if (i == 0) slot[i] <= k;
        else slot[i] <= below[i == 0 ? 0 : i - 1] ? slot[i == 0 ? 0 : i - 1] : k;
      end
    end
    assign list[i*KW +: KW] = slot[i];
  end
endmodule
