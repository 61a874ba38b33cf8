"""One process or many: the device and process-group setup shared by the training scripts (torch imported lazily)."""
import os


def start_processes(device='auto', cpu_threads=0):
    """Pick the device and, under torchrun (WORLD_SIZE > 1), join the process group (NCCL on CUDA, gloo on CPU).

    device: 'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'; under torchrun each process takes the GPU of
    its LOCAL_RANK. cpu_threads: torch threads per process on CPU; 0 shares the machine's cores among its processes
    (more threads than cores only adds contention). Returns (device str, rank int, world size int)."""
    import torch
    rank, world = int(os.environ.get('RANK', '0')), int(os.environ.get('WORLD_SIZE', '1'))
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device.startswith('cuda'):
        if world > 1:
            device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
        torch.cuda.set_device(device)
    else:
        local_processes = int(os.environ.get('LOCAL_WORLD_SIZE', world))
        torch.set_num_threads(cpu_threads or max(1, (os.cpu_count() or 1) // local_processes))
    if world > 1:
        torch.distributed.init_process_group('nccl' if device.startswith('cuda') else 'gloo')
    return device, rank, world


def stop_processes(world):
    """Leave the process group at the end of a run that joined one (world > 1); nothing for a single process.

    Every process waits at a barrier first, so none tears its connections down while another still works (rank 0
    writes the final checkpoint and pictures). Call it after deleting the DDP wrappers: they hold the process
    group, and one freed only while the interpreter shuts down can abort the process (seen once in CI, rank 1)."""
    import gc

    import torch
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
        gc.collect()
