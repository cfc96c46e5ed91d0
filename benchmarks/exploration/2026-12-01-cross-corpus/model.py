"""Small fast SER model over log-mel frames. forward(input_features (B,T,M), attention_mask (B,T)) -> logits."""
import torch, torch.nn as nn, torch.nn.functional as F

class DSBlock(nn.Module):
    def __init__(self, c, k=5, stride=1, drop=0.1):
        super().__init__()
        self.dw = nn.Conv1d(c, c, k, stride=stride, padding=k // 2, groups=c, bias=False)
        self.bn1 = nn.BatchNorm1d(c)
        self.pw = nn.Conv1d(c, c, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(c)
        self.stride = stride; self.drop = nn.Dropout(drop)
    def forward(self, x):
        y = F.relu(self.bn1(self.dw(x)))
        y = self.drop(self.bn2(self.pw(y)))
        if self.stride > 1:
            x = F.avg_pool1d(x, self.stride, self.stride, ceil_mode=True)[..., : y.shape[-1]]
        return F.relu(x + y)

def down_mask(mask, T):
    """mask (B,T0) float -> (B,T) by max-pooling to length T."""
    return F.adaptive_max_pool1d(mask[:, None].float(), T)[:, 0]

class SERNet(nn.Module):
    def __init__(self, n_mels=64, n_classes=7, channels=128, n_blocks=4, stem="1d", gru=0, norm="utterance",
                 drop=0.1, pool="attnstats", vad_db=0.0, floor_db=0.0):
        super().__init__()
        self.norm = norm; self.stem_kind = stem; self.pool = pool; self.vad_db = vad_db; self.floor_db = floor_db
        self.register_buffer("g_mean", torch.zeros(n_mels)); self.register_buffer("g_std", torch.ones(n_mels))
        if stem == "2d":
            self.stem2d = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            self.stem = nn.Sequential(nn.Conv1d(16 * ((n_mels + 1) // 2), channels, 1, bias=False), nn.BatchNorm1d(channels), nn.ReLU())
        else:
            self.stem = nn.Sequential(nn.Conv1d(n_mels, channels, 5, stride=2, padding=2, bias=False), nn.BatchNorm1d(channels), nn.ReLU())
        self.blocks = nn.ModuleList([DSBlock(channels, 5, 2 if i == 0 else 1, drop) for i in range(n_blocks)])
        self.gru = nn.GRU(channels, gru, batch_first=True, bidirectional=True) if gru else None
        d = 2 * gru if gru else channels
        self.att = nn.Sequential(nn.Conv1d(d, 64, 1), nn.Tanh(), nn.Conv1d(64, 1, 1))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * d, n_classes))

    def speech_mask(self, x, mask):
        """Energy VAD inside the model: keep real frames within vad_db of the loudest frame."""
        if self.vad_db <= 0:
            return mask
        e = x.mean(-1).masked_fill(mask < 0.5, -1e4)
        return mask * (e >= e.amax(1, keepdim=True) - self.vad_db).float()

    def normalize(self, x, mask):
        """x: dB log-mel (B,T,M); mask (B,T). Returns normalised x and the (possibly VAD-reduced) mask."""
        if self.floor_db > 0:
            top = x.masked_fill(mask[..., None] < 0.5, -1e4).amax((1, 2), keepdim=True)
            x = torch.maximum(x, top - self.floor_db)
        if self.vad_db > 0:  # drop non-speech frames: move kept frames to the front (order kept), shrink T
            keep = self.speech_mask(x, mask)
            T = x.shape[1]
            order = torch.argsort((1 - keep) * T + torch.arange(T, device=x.device)[None], dim=1)
            x = torch.gather(x, 1, order[..., None].expand_as(x))
            mask = torch.gather(keep, 1, order)
            Tn = int(mask.sum(1).max().item()); x = x[:, :Tn]; mask = mask[:, :Tn]
        m = mask[..., None].float()
        if self.norm == "utterance":
            n = m.sum(1, keepdim=True).clamp_min(1)
            mu = (x * m).sum(1, keepdim=True) / n
            sd = (((x - mu) ** 2 * m).sum(1, keepdim=True) / n).sqrt()
            x = (x - mu) / (sd + 1e-5)
        elif self.norm == "global":
            x = (x - self.g_mean) / self.g_std
        else:  # fixed affine of dB values
            x = (x + 40.0) / 20.0
        return x * m, mask

    def forward(self, input_features, attention_mask=None, normalized=False):
        x = input_features
        if attention_mask is None:
            attention_mask = torch.ones(x.shape[:2], device=x.device)
        mask = attention_mask.float()
        if not normalized:
            x, mask = self.normalize(x, mask)
        if self.stem_kind == "2d":
            h = self.stem2d(x[:, None].transpose(2, 3))  # (B,16,M/2,T/2)
            h = self.stem(h.flatten(1, 2))
        else:
            h = self.stem(x.transpose(1, 2))
        mk = down_mask(mask, h.shape[-1]); h = h * mk[:, None]
        for b in self.blocks:
            h = b(h)
            if h.shape[-1] != mk.shape[-1]:
                mk = down_mask(mask, h.shape[-1])
            h = h * mk[:, None]
        if self.gru is not None:
            h = self.gru(h.transpose(1, 2))[0].transpose(1, 2) * mk[:, None]
        e = self.att(h)[:, 0].masked_fill(mk < 0.5, -1e4)
        w = torch.softmax(e, -1)[:, None]  # (B,1,T)
        mu = (h * w).sum(-1)
        sd = ((h - mu[..., None]) ** 2 * w).sum(-1).clamp_min(1e-6).sqrt()
        return self.head(torch.cat([mu, sd], 1))
