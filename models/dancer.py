"""The discriminative dancer: the music around each move clip of a song -> the move of each clip.

A small 1-D convolution turns each clip's music window (R time bins x F features) into a vector; a bidirectional GRU
over the song's clips adds what the music does before and after (the whole song is known when dancing to it); a
unidirectional GRU reads that together with the previous move and predicts the next move. Training feeds the true
previous move (teacher forcing); generation feeds back its own choices.
"""
import torch
from torch import nn
from torch.nn import functional as F


class Dancer(nn.Module):
    """Move classifier over a song's clips.

    n_moves: size K of the move vocabulary; n_features: music features per time bin; n_rows: time bins per window;
    hidden: width of every layer; move_embed: size of the previous-move embedding; dropout: dropout rate.
    The constructor's arguments are kept in ``self.args`` so that a checkpoint can rebuild the network."""

    def __init__(self, n_moves, n_features, n_rows, hidden=128, move_embed=64, dropout=0.1):
        super().__init__()
        self.args = dict(n_moves=n_moves, n_features=n_features, n_rows=n_rows, hidden=hidden,
                         move_embed=move_embed, dropout=dropout)
        self.n_moves = n_moves
        self.music = nn.Sequential(
            nn.Conv1d(n_features, hidden, 3, padding=1), nn.GELU(),
            nn.Conv1d(hidden, hidden, 3, padding=1, stride=2), nn.GELU())
        self.music_out = nn.Linear(2 * hidden, hidden)
        self.context = nn.GRU(hidden, hidden // 2, batch_first=True, bidirectional=True)
        # Index n_moves is the "start of the dance" token that precedes the first move.
        self.embed = nn.Embedding(n_moves + 1, move_embed)
        self.decoder = nn.GRU(hidden + move_embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_moves)
        self.drop = nn.Dropout(dropout)

    def encode(self, music):
        """Music windows (B, N, R, F) -> one vector per clip with song context (B, N, hidden)."""
        b, n, r, f = music.shape
        x = self.music(music.reshape(b * n, r, f).transpose(1, 2))
        x = self.music_out(self.drop(torch.cat([x.mean(-1), x.amax(-1)], dim=-1))).reshape(b, n, -1)
        context, _ = self.context(x)
        return x + context

    def forward(self, music, previous_moves):
        """Teacher-forced logits. music: (B, N, R, F) float; previous_moves: (B, N) long, the move before each clip
        (``n_moves`` for the first clip of a dance) -> logits (B, N, n_moves)."""
        encoded = self.drop(self.encode(music))
        h, _ = self.decoder(torch.cat([encoded, self.embed(previous_moves)], dim=-1))
        return self.head(self.drop(h))

    @torch.no_grad()
    def generate(self, music, temperature=1.0, top_k=0, generator=None, greedy=False, log_probs=False):
        """Choose a move for every clip of one song, each from the previous choice.

        music: (N, R, F); temperature: divides the logits; top_k: sample among the k likeliest moves (0: all);
        generator: torch.Generator for reproducible sampling; greedy: take the likeliest move instead of sampling.
        -> (N,) long moves; with log_probs, also (N, n_moves) the model's log-probabilities of every move at each
        clip (before temperature and top_k), given the moves chosen before it."""
        encoded = self.encode(music[None])[0]
        previous = torch.tensor([self.n_moves], device=music.device)
        h = None
        moves, all_logits = [], []
        for i in range(len(encoded)):
            step = torch.cat([encoded[i:i + 1], self.embed(previous)], dim=-1)[None]
            out, h = self.decoder(step, h)
            logits = self.head(out[0, -1])
            move = logits.argmax() if greedy else sample_logits(logits, temperature, top_k, generator)
            moves.append(move)
            all_logits.append(logits)
            previous = move.reshape(1)
        moves = torch.stack(moves) if moves else torch.zeros(0, dtype=torch.long, device=music.device)
        if not log_probs:
            return moves
        logits = torch.stack(all_logits) if all_logits else torch.zeros(0, self.n_moves, device=music.device)
        return moves, F.log_softmax(logits.float(), dim=-1)


def sample_logits(logits, temperature=1.0, top_k=0, generator=None):
    """Draw one index from logits (K,) after dividing by `temperature` and keeping the `top_k` largest (0: all)."""
    logits = logits.float() / max(temperature, 1e-6)
    if 0 < top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float('-inf'))
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator)[0].to(logits.device)
