"""Built-in packages: adapters over the torchvision training engine."""
