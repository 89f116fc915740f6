-- 021: every speed and memory setting a `train sft` run used (auto settings resolved for its
-- device), its memory plan, and what it measured, so runs on different cards can be compared.
-- device: the GPU's name or 'cpu'; parallel: none (one process) / ddp / fsdp; precision: bf16 / fp32; attention: sdpa / eager / varlen / ...;
-- compiled: per-layer torch.compile; fused_kernels: Liger-Kernel's (the gpu extra); planned_peak_gib: train.plan's estimate (NULL when unchecked);
-- first_step_s: seconds to the end of the process's first step (compile included);
-- tokens_per_s: real tokens per second of the steps after it; peak_memory_gib: CUDA peak (NULL on CPU);
-- compiled_graphs: graphs dynamo compiled (one per layer shape; more are recompiles).
ALTER TABLE train_runs ADD COLUMN device VARCHAR;
ALTER TABLE train_runs ADD COLUMN world_size INTEGER;
ALTER TABLE train_runs ADD COLUMN parallel VARCHAR;
ALTER TABLE train_runs ADD COLUMN precision VARCHAR;
ALTER TABLE train_runs ADD COLUMN attention VARCHAR;
ALTER TABLE train_runs ADD COLUMN compiled BOOLEAN;
ALTER TABLE train_runs ADD COLUMN fused_kernels BOOLEAN;
ALTER TABLE train_runs ADD COLUMN grad_ckpt VARCHAR;
ALTER TABLE train_runs ADD COLUMN tokens_per_batch INTEGER;
ALTER TABLE train_runs ADD COLUMN loss_chunk_tokens INTEGER;
ALTER TABLE train_runs ADD COLUMN planned_peak_gib DOUBLE;
ALTER TABLE train_runs ADD COLUMN first_step_s DOUBLE;
ALTER TABLE train_runs ADD COLUMN tokens_per_s DOUBLE;
ALTER TABLE train_runs ADD COLUMN peak_memory_gib DOUBLE;
ALTER TABLE train_runs ADD COLUMN compiled_graphs INTEGER;
