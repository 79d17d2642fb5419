#!/usr/bin/env python3
"""Makes the image datasets and preprocessing fixtures once, on a developer's machine (the outputs
are committed; CI never runs this). Needs numpy, Pillow, pydicom and onnx from PyPI and DCMTK's
command-line tools (Debian's `dcmtk`) for the compressed DICOM transfer syntaxes.

1. Declares the digits model's preprocessing in Models/densenet-digits.onnx (metadata
   `preprocessing`): DICOM files use their own window (centre 8.5, width 17 maps the digit values
   0..16 onto [0, 1], exactly x/16); PNG and JPEG files hold the raw values 0..16, scaled by 1/16.
2. Writes the bundled digits test set (Datasets/digits-test, already divided by 16) as image
   folders with labels.csv:
   - Datasets/digits-png: 8-bit grey PNG (lossless: the same inputs, bit for bit);
   - Datasets/digits-jpeg: 8-bit grey JPEG, quality 95 (lossy: the secure count is compared with
     the plaintext reference on the same folder);
   - Datasets/digits-dicom: DICOM in six variants, by image index mod 6: MONOCHROME2 16-bit with a
     modality LUT (slope 0.5, intercept -8); signed 16-bit (slope 0.25, intercept 8), implicit VR;
     MONOCHROME1; JPEG lossless (process 14 SV1); MONOCHROME1 JPEG-LS lossless; 8-bit RLE. Every
     variant decodes to exactly x/16.
3. Writes Tests/Fixtures/preprocessing/: realistic synthetic images (CT-like signed DICOM with a
   file window, a MONOCHROME1 12-bit radiograph stored JPEG-lossless, RGB and 16-bit grey PNG, an
   RGB JPEG) with declarations, and the reference outputs of an independent pipeline: pydicom
   (modality LUT and windowing) and Pillow (resize on 32-bit float images), numpy for the rest;
   plus, for the RGB PNG, the common 8-bit torchvision-style pipeline (Pillow resize on uint8 RGB).

Run from the project root: python3 Scripts/dev/make_image_datasets.py
"""
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import onnx
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

ROOT = os.getcwd()
DIGITS_PREPROCESSING = {"window": "file", "scale": 0.0625}
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
DX_IMAGE = "1.2.840.10008.5.1.4.1.1.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def uid(*parts):
    return generate_uid(entropy_srcs=[str(p) for p in parts])


def dicom(path, pixels, *, photometric="MONOCHROME2", bits_stored=16, signed=False, slope=None, intercept=None,
          window=None, implicit=False, sop_class=SECONDARY_CAPTURE, key=("x",)):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid("instance", *key)
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid("study", *key)
    ds.SeriesInstanceUID = uid("series", *key)
    ds.Modality = "OT" if sop_class == SECONDARY_CAPTURE else ("CT" if sop_class == CT_IMAGE else "DX")
    ds.PatientName = "Synthetic^Digit"
    ds.PatientID = "SYNTHETIC"
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.SamplesPerPixel = 1 if pixels.ndim == 2 else pixels.shape[2]
    ds.PhotometricInterpretation = photometric
    allocated = 8 if bits_stored <= 8 else 16
    ds.BitsAllocated = allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
        ds.RescaleType = "US"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    dtype = {(8, False): np.uint8, (16, False): np.uint16, (16, True): np.int16}[(allocated, signed)]
    ds.PixelData = np.ascontiguousarray(pixels.astype(dtype)).tobytes()
    ds.save_as(path, enforce_file_format=True)


def compress(path, tool):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.dcm")
        subprocess.run([tool, path, out], check=True)
        shutil.move(out, path)


def declare_digits_preprocessing():
    path = os.path.join(ROOT, "Models/densenet-digits.onnx")
    model = onnx.load(path)
    text = json.dumps(DIGITS_PREPROCESSING, sort_keys=True)
    existing = [p for p in model.metadata_props if p.key == "preprocessing"]
    if existing and existing[0].value == text:
        return
    for p in existing:
        model.metadata_props.remove(p)
    entry = model.metadata_props.add()
    entry.key, entry.value = "preprocessing", text
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_labels(folder, names, labels):
    with open(os.path.join(folder, "labels.csv"), "w") as f:
        f.write("file,label\n")
        for name, label in zip(names, labels):
            f.write(f"{name},{int(label)}\n")


def digits_folders():
    inputs = np.load(os.path.join(ROOT, "Datasets/digits-test/inputs.npy"))
    labels = np.load(os.path.join(ROOT, "Datasets/digits-test/labels.npy"))
    values = np.rint(inputs[:, 0] * 16).astype(np.int64)
    assert np.array_equal(values / 16.0, inputs[:, 0].astype(np.float64)), "digits are not multiples of 1/16"
    for kind in ("png", "jpeg", "dicom"):
        folder = os.path.join(ROOT, f"Datasets/digits-{kind}")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        names = []
        for i, x in enumerate(values):
            if kind == "png":
                name = f"digit-{i:03d}.png"
                Image.fromarray(x.astype(np.uint8), mode="L").save(os.path.join(folder, name), optimize=True)
            elif kind == "jpeg":
                name = f"digit-{i:03d}.jpg"
                Image.fromarray(x.astype(np.uint8), mode="L").save(os.path.join(folder, name), quality=95)
            else:
                name = f"digit-{i:03d}.dcm"
                path = os.path.join(folder, name)
                variant = i % 6
                key = ("digit", i)
                window = (8.5, 17)
                if variant == 0:
                    dicom(path, 2 * x + 16, bits_stored=12, slope=0.5, intercept=-8, window=window, key=key)
                elif variant == 1:
                    dicom(path, 4 * x - 32, bits_stored=16, signed=True, slope=0.25, intercept=8, window=window, implicit=True, key=key)
                elif variant == 2:
                    dicom(path, 2 * (16 - x) + 16, photometric="MONOCHROME1", bits_stored=12, slope=0.5, intercept=-8, window=window, key=key)
                elif variant == 3:
                    dicom(path, 2 * x + 16, bits_stored=12, slope=0.5, intercept=-8, window=window, key=key)
                    compress(path, "dcmcjpeg")
                elif variant == 4:
                    dicom(path, 2 * (16 - x) + 16, photometric="MONOCHROME1", bits_stored=12, slope=0.5, intercept=-8, window=window, key=key)
                    compress(path, "dcmcjpls")
                else:
                    dicom(path, x, bits_stored=8, window=window, key=key)
                    compress(path, "dcmcrle")
            names.append(name)
        write_labels(folder, names, labels)


# ---- the independent reference pipeline ------------------------------------------------------

def window_01(arr, ds, center=None, width=None):
    """pydicom's windowing, mapped from its output range onto [0, 1]."""
    if center is not None:
        ds = ds.copy()
        ds.WindowCenter, ds.WindowWidth = center, width
    from pydicom.pixels import apply_windowing
    y = apply_windowing(arr.astype(np.float64), ds)
    bits = int(ds.BitsStored)
    lo, hi = (0, 2**bits - 1) if ds.PixelRepresentation == 0 else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if "RescaleSlope" in ds:
        lo, hi = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept), hi * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return (y - lo) / (hi - lo)


def pil_resize(plane, size_hw, filt):
    image = Image.fromarray(plane.astype(np.float32), mode="F")
    return np.asarray(image.resize((size_hw[1], size_hw[0]), resample=filt), dtype=np.float32)


def shorter_side(h, w, side):
    return (side, int(side * w / h)) if h <= w else (int(side * h / w), side)


def center_crop(plane, ch, cw):
    h, w = plane.shape
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return plane[top:top + ch, left:left + cw]


FILTERS = {"bilinear": Image.BILINEAR, "area": Image.BOX, "bicubic": Image.BICUBIC}


def reference(planes, declaration, shape):
    """planes: list of float32 arrays (values after steps 1-5); returns C×H×W float32."""
    channels = shape[0]
    if channels == 1 and len(planes) == 3:
        planes = [(0.299 * planes[0].astype(np.float64) + 0.587 * planes[1] + 0.114 * planes[2]).astype(np.float32)]
    resize = declaration.get("resize")
    if resize:
        h, w = planes[0].shape
        size = tuple(resize["size"]) if "size" in resize else shorter_side(h, w, resize["shorter_side"])
        planes = [pil_resize(p, size, FILTERS[resize.get("filter", "bilinear")]) for p in planes]
    if "center_crop" in declaration:
        crop = declaration["center_crop"]
        ch, cw = (crop, crop) if isinstance(crop, int) else crop
        planes = [center_crop(p, ch, cw) for p in planes]
    if channels == 3 and len(planes) == 1:
        planes = planes * 3
    out = np.stack(planes).astype(np.float64)
    mean = np.atleast_1d(np.array(declaration.get("mean", [0.0]), dtype=np.float64))
    std = np.atleast_1d(np.array(declaration.get("std", [1.0]), dtype=np.float64))
    if len(mean) == 1:
        mean = np.repeat(mean, channels)
    if len(std) == 1:
        std = np.repeat(std, channels)
    out = (out - mean[:, None, None]) / std[:, None, None]
    return out.astype(np.float32)


def fixtures():
    folder = os.path.join(ROOT, "Tests/Fixtures/preprocessing")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    rng = np.random.default_rng(20261206)
    imagenet = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    cases = []

    def smooth(h, w, lo, hi):
        yy, xx = np.mgrid[0:h, 0:w]
        field = np.sin(xx / 7.0) * np.cos(yy / 11.0) + 0.5 * np.sin((xx + yy) / 5.0) + 0.2 * rng.standard_normal((h, w))
        field = (field - field.min()) / (field.max() - field.min())
        return lo + field * (hi - lo)

    # (a) CT-like: signed 16-bit, HU = stored - 1024, the file's window (40, 400).
    stored = np.rint(smooth(96, 80, -1000, 1500) + 1024).astype(np.int64)
    path = os.path.join(folder, "ct.dcm")
    dicom(path, stored, bits_stored=16, signed=True, slope=1, intercept=-1024, window=(40, 400), sop_class=CT_IMAGE, key=("ct",))
    ds = pydicom.dcmread(path)
    values = window_01(apply_modality_lut(ds.pixel_array, ds), ds).astype(np.float32)
    decl = {"window": "file", "resize": {"shorter_side": 64, "filter": "bilinear"}, "center_crop": [56, 56], **imagenet}
    cases.append(("ct.dcm", decl, [3, 56, 56], reference([values], decl, [3, 56, 56])))

    # (b) MONOCHROME1 12-bit radiograph, the vendor's window, stored JPEG lossless.
    stored = np.rint(smooth(120, 100, 200, 3900)).astype(np.int64)
    path = os.path.join(folder, "xray-monochrome1.dcm")
    dicom(path, stored, photometric="MONOCHROME1", bits_stored=12, window=(2048, 4096), sop_class=DX_IMAGE, key=("dx",))
    ds = pydicom.dcmread(path)
    values = (1 - window_01(apply_modality_lut(ds.pixel_array, ds), ds, 1800, 3000)).astype(np.float32)
    compress(path, "dcmcjpeg")
    decl = {"window": {"center": 1800, "width": 3000}, "resize": {"shorter_side": 48, "filter": "area"}, "center_crop": [40, 40],
            "mean": [0.5], "std": [0.25]}
    cases.append(("xray-monochrome1.dcm", decl, [1, 40, 40], reference([values], decl, [1, 40, 40])))

    # (c) RGB 8-bit PNG, bicubic, ImageNet normalisation; also the 8-bit Pillow pipeline.
    rgb = np.stack([np.rint(smooth(70, 90, 0, 255)) for _ in range(3)], axis=-1).astype(np.uint8)
    Image.fromarray(rgb, mode="RGB").save(os.path.join(folder, "photo.png"))
    planes = [rgb[..., c].astype(np.float32) / 255 for c in range(3)]
    decl = {"scale": "bit_depth", "resize": {"shorter_side": 50, "filter": "bicubic"}, "center_crop": [48, 48], **imagenet}
    float_ref = reference(planes, decl, [3, 48, 48])
    size = shorter_side(70, 90, 50)
    resized = np.asarray(Image.fromarray(rgb, mode="RGB").resize((size[1], size[0]), resample=Image.BICUBIC), dtype=np.float64) / 255
    eight_bit = np.stack([center_crop(resized[..., c], 48, 48) for c in range(3)])
    eight_bit = ((eight_bit - np.array(imagenet["mean"])[:, None, None]) / np.array(imagenet["std"])[:, None, None]).astype(np.float32)
    cases.append(("photo.png", decl, [3, 48, 48], float_ref, eight_bit))

    # (d) 16-bit grey PNG, bilinear to a fixed size (upscaling one side), grey to RGB.
    grey16 = np.rint(smooth(64, 96, 0, 65535)).astype(np.uint16)
    Image.fromarray(grey16).save(os.path.join(folder, "grey16.png"))
    assert np.array_equal(np.asarray(Image.open(os.path.join(folder, "grey16.png"))), grey16)
    decl = {"scale": "bit_depth", "resize": {"size": [40, 120], "filter": "bilinear"}}
    cases.append(("grey16.png", decl, [3, 40, 120], reference([grey16.astype(np.float32) / 65535], decl, [3, 40, 120])))

    # (e) RGB JPEG to one channel (BT.601 luma), area filter; the reference decodes with Pillow.
    Image.fromarray(rgb, mode="RGB").save(os.path.join(folder, "photo.jpg"), quality=90)
    decoded = np.asarray(Image.open(os.path.join(folder, "photo.jpg")).convert("RGB"))
    planes = [decoded[..., c].astype(np.float32) * np.float32(1 / 255.0) for c in range(3)]
    decl = {"scale": 0.00392156862745098, "resize": {"shorter_side": 32, "filter": "area"}, "center_crop": 32, "mean": 0.5, "std": 0.5}
    cases.append(("photo.jpg", decl, [1, 32, 32], reference(planes, decl, [1, 32, 32])))

    # A transfer syntax this DCMTK build cannot decode (JPEG 2000), for the error test.
    path = os.path.join(folder, "jpeg2000.dcm")
    dicom(path, np.zeros((8, 8), dtype=np.int64), bits_stored=8, key=("j2k",))
    ds = pydicom.dcmread(path)
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\0" * 60])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)

    manifest = []
    for case in cases:
        name, decl, shape, ref = case[:4]
        stem = os.path.splitext(name)[0] + "-" + os.path.splitext(name)[1][1:]
        np.save(os.path.join(folder, f"{stem}.reference.npy"), ref)
        entry = {"file": name, "preprocessing": decl, "input_shape": shape, "reference": f"{stem}.reference.npy"}
        if len(case) > 4:
            np.save(os.path.join(folder, f"{stem}.reference-8bit.npy"), case[4])
            entry["reference_8bit"] = f"{stem}.reference-8bit.npy"
        manifest.append(entry)
    with open(os.path.join(folder, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    declare_digits_preprocessing()
    digits_folders()
    fixtures()
    print("done")
