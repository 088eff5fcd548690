"""A labeled dataset in other tools' layouts: its weakest frames as a CVAT task, and its frames as
mmsegmentation, Cityscapes-style or Hugging Face datasets."""
