#include "dicom_shim.h"

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {

std::once_flag registered;

void registerDecoders() {
    std::call_once(registered, [] {
        // Quiet DCMTK's own logger: errors come back through the return values.
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
        DJDecoderRegistration::registerCodecs();    // JPEG (baseline, extended, lossless)
        DJLSDecoderRegistration::registerCodecs();  // JPEG-LS
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

int fail(char *error, size_t size, const char *what, const OFCondition &status) {
    std::snprintf(error, size, "%s (%s)", what, status.text());
    return 1;
}

}  // namespace

extern "C" void sv_dicom_free(sv_dicom_image *image) {
    std::free(image->samples);
    image->samples = nullptr;
}

extern "C" int sv_dicom_is_dicom(const char *path) {
    FILE *file = std::fopen(path, "rb");
    if (!file) return 0;
    char header[132];
    size_t got = std::fread(header, 1, sizeof header, file);
    std::fclose(file);
    return got == sizeof header && std::memcmp(header + 128, "DICM", 4) == 0;
}

extern "C" int sv_dicom_read(const char *path, sv_dicom_image *out, char *error, size_t error_size) {
    std::memset(out, 0, sizeof *out);
    registerDecoders();
    DcmFileFormat file;
    OFCondition status = file.loadFile(path);
    if (status.bad()) return fail(error, error_size, "DCMTK cannot read it as DICOM", status);
    DcmDataset *data = file.getDataset();
    E_TransferSyntax original = data->getOriginalXfer();
    DcmXfer originalName(original);
    std::snprintf(out->transfer_syntax, sizeof out->transfer_syntax, "%s (%s)", originalName.getXferName(), originalName.getXferID());

    Uint16 rows = 0, columns = 0, samples = 1, allocated = 0, stored = 0, high = 0, representation = 0;
    if (data->findAndGetUint16(DCM_Rows, rows).bad() || data->findAndGetUint16(DCM_Columns, columns).bad() || rows == 0 || columns == 0) {
        std::snprintf(error, error_size, "no Rows/Columns: not an image");
        return 1;
    }
    data->findAndGetUint16(DCM_SamplesPerPixel, samples);
    data->findAndGetUint16(DCM_BitsAllocated, allocated);
    if (data->findAndGetUint16(DCM_BitsStored, stored).bad()) stored = allocated;
    if (data->findAndGetUint16(DCM_HighBit, high).bad()) high = stored - 1;
    data->findAndGetUint16(DCM_PixelRepresentation, representation);
    Sint32 frames = 1;
    data->findAndGetSint32(DCM_NumberOfFrames, frames);
    OFString photometric;
    data->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
    if (!data->tagExists(DCM_PixelData)) { std::snprintf(error, error_size, "no Pixel Data"); return 1; }
    if (allocated != 8 && allocated != 16) {
        std::snprintf(error, error_size, "Bits Allocated %u is not supported (8 or 16)", allocated);
        return 1;
    }
    if (stored == 0 || stored > allocated || high != stored - 1) {
        std::snprintf(error, error_size, "Bits Stored %u / High Bit %u are not supported (High Bit must be Bits Stored - 1)", stored, high);
        return 1;
    }
    if (frames < 1) frames = 1;

    // Decompress to explicit little endian with DCMTK's registered decoders.
    if (data->chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() || !data->canWriteXfer(EXS_LittleEndianExplicit)) {
        std::snprintf(error, error_size, "transfer syntax %s cannot be decoded by this build's DCMTK", out->transfer_syntax);
        return 2;
    }
    // Decoders may change the photometric interpretation (YBR → RGB).
    data->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
    std::snprintf(out->photometric, sizeof out->photometric, "%s", photometric.c_str());
    bool monochrome = photometric == "MONOCHROME1" || photometric == "MONOCHROME2";
    if (!((monochrome && samples == 1) || (photometric == "RGB" && samples == 3))) {
        std::snprintf(error, error_size, "photometric interpretation %s with %u sample(s) per pixel is not supported (MONOCHROME1, MONOCHROME2, RGB)",
                      photometric.c_str(), samples);
        return 1;
    }
    Uint16 planar = 0;
    data->findAndGetUint16(DCM_PlanarConfiguration, planar);

    size_t pixels = size_t(rows) * size_t(columns);
    size_t count = pixels * samples;
    const Uint8 *bytes8 = nullptr;
    const Uint16 *words = nullptr;
    unsigned long available = 0;
    if (allocated == 8) {
        status = data->findAndGetUint8Array(DCM_PixelData, bytes8, &available);
    } else {
        status = data->findAndGetUint16Array(DCM_PixelData, words, &available);
    }
    if (status.bad() || (bytes8 == nullptr && words == nullptr)) return fail(error, error_size, "cannot read Pixel Data", status);
    if (available < count) {
        std::snprintf(error, error_size, "Pixel Data holds %lu samples, fewer than Rows x Columns x Samples = %zu", available, count);
        return 1;
    }
    out->samples = static_cast<int32_t *>(std::malloc(count * sizeof(int32_t)));
    if (!out->samples) { std::snprintf(error, error_size, "out of memory"); return 1; }
    const uint32_t mask = stored >= 32 ? 0xffffffffu : ((1u << stored) - 1);
    for (size_t i = 0; i < count; i++) {
        // Interleaved output whatever the planar configuration.
        size_t source = (planar == 1 && samples == 3) ? (i % samples) * pixels + i / samples : i;
        uint32_t raw = allocated == 8 ? bytes8[source] : words[source];
        raw &= mask;
        int32_t value = int32_t(raw);
        if (representation == 1 && (raw >> (stored - 1)) & 1u) value = int32_t(raw) - int32_t(1u << stored);
        out->samples[i] = value;
    }
    out->rows = rows;
    out->columns = columns;
    out->samples_per_pixel = samples;
    out->bits_stored = stored;
    out->pixel_representation = representation;
    out->frames = frames;
    out->monochrome1 = photometric == "MONOCHROME1";
    Float64 value = 0;
    out->rescale_slope = data->findAndGetFloat64(DCM_RescaleSlope, value).good() ? value : 1.0;
    out->rescale_intercept = data->findAndGetFloat64(DCM_RescaleIntercept, value).good() ? value : 0.0;
    OFString function;
    if (data->findAndGetOFString(DCM_VOILUTFunction, function).good()) {
        std::snprintf(out->voi_function, sizeof out->voi_function, "%s", function.c_str());
    }
    out->has_voi_lut_sequence = data->tagExists(DCM_VOILUTSequence) ? 1 : 0;
    Float64 center = 0, width = 0;
    if (data->findAndGetFloat64(DCM_WindowCenter, center, 0).good() && data->findAndGetFloat64(DCM_WindowWidth, width, 0).good()) {
        out->has_window = 1;
        out->window_center = center;
        out->window_width = width;
    }
    return 0;
}
