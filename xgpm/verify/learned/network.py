"""The scorer's network: the autoencoder, its score head and its clusters (:class:`ScorerNet`).

One ``torch.nn.Module``, so the model registry saves and loads network and clusters together.
Imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from xgpm.errors import InvalidArgumentError

# ------------------------------------------------------------------------------------------
# the network
# ------------------------------------------------------------------------------------------


class ScorerNet(nn.Module):
    """Convolutional autoencoder with a score head and two clusterings of its latent space.

    Parameters
    ----------
    in_channels : int
        Input channels (5, :data:`INPUT_CHANNELS`).
    height, width : int
        Map size in cells (France: 72 x 104); each must be divisible by 8.
    latent_dim : int
        Size of the latent vector.
    base_channels : int
        Channels of the first convolution (doubled twice going down).
    n_targets : int
        Scores predicted (2: :data:`TARGETS`).
    som_shape : (int, int)
        DESOM grid.
    n_dec_clusters : int
        DEC clusters.
    dropout : float
        Dropout on the pooled map statistics during training (2,000 maps overfit easily).

    Notes
    -----
    ``forward(x)`` returns ``(reconstruction, scores, latent)``: the reconstruction of the
    standardised input, the scores in [0, 1] (sigmoid) and the latent vectors. The buffers
    ``som_prototypes``, ``dec_centroids``, ``som_stats``, ``dec_stats`` (per cluster and target:
    :data:`xgpm.scoring.clusters.STAT_NAMES` of the training maps) are filled by
    :func:`fit_clusters` and saved with the weights.
    """

    divisibility = 8
    receptive_margin = 0  # whole maps only: never tiled

    def __init__(
        self,
        in_channels: int = 5,
        height: int = 72,
        width: int = 104,
        latent_dim: int = 16,
        base_channels: int = 8,
        n_targets: int = 2,
        som_shape: Sequence[int] = (3, 4),
        n_dec_clusters: int = 8,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if height % 8 or width % 8:
            raise InvalidArgumentError(
                f"ScorerNet: height and width must be multiples of 8, got {height} x {width}."
            )
        c1, c2, c3 = base_channels, 2 * base_channels, 4 * base_channels
        self.in_channels, self.height, self.width = in_channels, height, width
        self.latent_dim, self.n_targets = latent_dim, n_targets
        self.som_shape = (int(som_shape[0]), int(som_shape[1]))
        self.n_dec_clusters = int(n_dec_clusters)
        self.dropout = float(dropout)
        self._bottom = (c3, height // 8, width // 8)
        flat = c3 * (height // 8) * (width // 8)
        act = nn.LeakyReLU(0.1)
        # stride 2 from the first layer: 10 km detail is not needed to judge a map, and it
        # keeps training on a shared CPU to minutes
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, stride=2, padding=1),
            act,
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            act,
            nn.Conv2d(c2, c3, 3, stride=2, padding=1),
            act,
            nn.Conv2d(c3, c3, 3, padding=1),
            act,
        )
        # A score is an area statistic: the latent reads the conv features pooled over the map
        # (mean and max, few weights, so 2,000 maps do not overfit) plus each input channel's
        # map mean and spread (e.g. the microwave fraction, a strong predictor).
        self.encoder_head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(3 * c3 + 2 * in_channels, latent_dim)
        )
        # Learned where-to-look weights per conv feature (a score depends on where the rain is:
        # e.g. far from a radar the reference underestimates).
        self.spatial_logits = nn.Parameter(torch.zeros(c3, height // 8, width // 8))
        self.decoder_input = nn.Linear(latent_dim, flat)
        self.decoder = nn.Sequential(
            act,
            nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1),
            act,
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
            act,
            nn.ConvTranspose2d(c1, in_channels, 4, stride=2, padding=1),
        )
        self.score_head = nn.Sequential(
            nn.Linear(latent_dim, 32), nn.LeakyReLU(0.1), nn.Linear(32, n_targets)
        )
        n_som = self.som_shape[0] * self.som_shape[1]
        self.register_buffer("som_prototypes", torch.zeros(n_som, latent_dim))
        self.register_buffer("dec_centroids", torch.zeros(self.n_dec_clusters, latent_dim))
        nan = float("nan")
        self.register_buffer("som_stats", torch.full((n_som, n_targets, 4), nan))
        self.register_buffer("dec_stats", torch.full((self.n_dec_clusters, n_targets, 4), nan))
        self.register_buffer("clusters_fitted", torch.zeros((), dtype=torch.bool))
        # Where the score is computed (the reference's verified area, e.g. radar coverage):
        # the map statistics are weighted by it. All ones until set_area().
        self.register_buffer("area", torch.ones(height, width))

    def set_area(self, area: np.ndarray) -> None:
        """Set the verified-area weights ``(height, width)`` (e.g. fraction of maps verified)."""
        area = np.nan_to_num(np.asarray(area, dtype="float32"), nan=0.0).clip(0.0, 1.0)
        if area.shape != tuple(self.area.shape) or not area.sum() > 0:
            raise InvalidArgumentError(
                f"area: expected non-zero weights of shape {tuple(self.area.shape)}, got "
                f"{area.shape}."
            )
        with torch.no_grad():
            self.area.copy_(torch.from_numpy(area))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent vectors ``(batch, latent_dim)`` of standardised inputs."""
        h = self.encoder(x)
        fine = self.area / self.area.sum()
        coarse = nn.functional.avg_pool2d(self.area[None, None], 8)[0, 0]
        inside = (coarse > 0.5).to(h.dtype)
        coarse = coarse / coarse.sum()
        x_mean = (x * fine).sum(dim=(2, 3))
        x_std = ((x - x_mean[:, :, None, None]) ** 2 * fine).sum(dim=(2, 3)).sqrt()
        h_mean = (h * coarse).sum(dim=(2, 3))
        h_max = (h * inside - 1e3 * (1 - inside)).amax(dim=(2, 3))
        logits = self.spatial_logits - 1e3 * (1 - inside)
        attention = torch.softmax(logits.flatten(1), dim=1).view_as(logits)
        h_where = (h * attention).sum(dim=(2, 3))
        return self.encoder_head(torch.cat([h_mean, h_max, h_where, x_mean, x_std], dim=1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstructed standardised inputs from latent vectors."""
        return self.decoder(self.decoder_input(z).view(-1, *self._bottom))

    def scores(self, z: torch.Tensor) -> torch.Tensor:
        """Predicted scores in [0, 1], ``(batch, n_targets)``."""
        return torch.sigmoid(self.score_head(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reconstruction, scores, latent)`` of standardised inputs ``(batch, 5, h, w)``."""
        z = self.encode(x)
        return self.decode(z), self.scores(z), z


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())
