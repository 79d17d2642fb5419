// swift-tools-version: 6.1
// SecureValidation: secure two-party validation of an ONNX model on a private test set.
// Module stack (no cycles), bottom to top; an arrow points from a module to one that uses it:
//   RingArithmetic (Z_2^ℓ, fixed point, GEMM) · TensorLayout (shapes, pooling windows, HE layer
//   geometry) · Datasets (npy, csv) · CProtobufC → CONNXProto (generated) · CSQLite → Ledger
//   TensorLayout → IR (graph, shape inference, passes) → ONNX (protobuf → IR)
//   IR + RingArithmetic + Datasets → Reference (float / fixed executors)
//   COpenSSL → CryptoPrimitives (random, AES PRG, SHA-256) → Transport (channels, TLS, handshake,
//     lane acceptance) → OT (base OT, IKNP, 1-of-N, Ferret) → Protocols (shares, comparison, ReLU,
//     truncation, max-pool, argmax, metric)
//   CryptoPrimitives → LatticeHE (RNS, NTT, BFV with t = 2^ℓ) → LinearHE (Cheetah linear layers)
//   IR → Compiler (the secure program, its canonical encoding and digest, WeightStore, Metric;
//     no executors) → Calibration (with Reference: format selection on the vendor's own data)
//   Compiler + Protocols → Engine (runs the program alone; no IR)
//   Engine + LinearHE → HEBackend (the engine's linear steps on HE; PreparedModel)
//   Compiler → Commitments (salted commitments of program + weights, and of datasets)
//   Engine + HEBackend + Commitments → Validation (sessions, session messages, lanes, resume)
//   CLISupport + Validation + Calibration + Ledger → ValidationCLI (validate-serve, validate-client)
//   … → ValidateInspect (validate-inspect)
import PackageDescription

/// Hot loops are built for AVX2 (see ../shared/FIELD-NOTES.md: 2–2.6× on the GEMM and NTT);
/// the binaries therefore need an x86-64 CPU with AVX2 (Haswell, 2013, or later).
let hotLoopFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"], .when(platforms: [.linux])),
]

let package = Package(
    name: "SecureValidation",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "validate-inspect", targets: ["validate-inspect"]),
        .executable(name: "validate-serve", targets: ["validate-serve"]),
        .executable(name: "validate-client", targets: ["validate-client"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System library and generated code.
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c",
                       providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "CONNXProto", dependencies: ["CProtobufC"]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Shims over the image libraries, whose errors arrive by longjmp (C) or C++ classes
        // (DCMTK): libpng + libjpeg-turbo (Debian's libpng-dev, libjpeg62-turbo-dev) and DCMTK
        // (libdcmtk-dev) with its JPEG, JPEG-LS and RLE decoders.
        .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        .target(name: "CDICOM", linkerSettings: [
            "dcmjpls", "dcmtkcharls", "dcmjpeg", "ijg8", "ijg12", "ijg16", "dcmimage", "dcmimgle", "dcmdata", "oflog", "ofstd",
        ].map { .linkedLibrary($0) }),

        // Libraries.
        .target(name: "RingArithmetic", swiftSettings: hotLoopFlags),
        .target(name: "TensorLayout"),
        .target(name: "Preprocessing"),
        .target(name: "IR", dependencies: ["TensorLayout", "Preprocessing"]),
        .target(name: "ONNX", dependencies: ["IR", "Preprocessing", "CONNXProto", "CProtobufC"]),
        .target(name: "Reference", dependencies: ["IR", "RingArithmetic", "Datasets"], swiftSettings: hotLoopFlags),
        .target(name: "Datasets", dependencies: ["Preprocessing", "CImageCodecs", "CDICOM"]),
        .target(name: "CryptoPrimitives", dependencies: ["COpenSSL"], swiftSettings: hotLoopFlags),
        .target(name: "Transport", dependencies: ["COpenSSL", "CryptoPrimitives"]),
        .target(name: "Compiler", dependencies: ["TensorLayout", "IR", "Preprocessing", "RingArithmetic", "CryptoPrimitives"]),
        .target(name: "Calibration", dependencies: ["Compiler", "IR", "Reference", "Datasets", "RingArithmetic"]),
        .target(name: "Engine", dependencies: ["Compiler", "TensorLayout", "Protocols", "RingArithmetic", "Transport", "OT", "CryptoPrimitives"]),
        .target(name: "Commitments", dependencies: ["COpenSSL", "Compiler", "CryptoPrimitives", "Datasets", "IR", "RingArithmetic"]),
        .target(name: "HEBackend", dependencies: ["Engine", "Compiler", "LinearHE", "Protocols", "Transport", "RingArithmetic", "CryptoPrimitives"]),
        .target(name: "Validation", dependencies: ["Commitments", "Engine", "HEBackend", "Compiler", "IR", "Datasets", "Protocols", "OT", "Transport", "LinearHE", "RingArithmetic", "CryptoPrimitives", "Reference"]),
        .target(name: "LatticeHE", dependencies: ["CryptoPrimitives"], swiftSettings: hotLoopFlags),
        .target(name: "Ledger", dependencies: ["CSQLite"]),
        .target(name: "LinearHE", dependencies: ["TensorLayout", "LatticeHE", "Transport", "CryptoPrimitives", "RingArithmetic"], swiftSettings: hotLoopFlags),
        .target(name: "OT", dependencies: ["CryptoPrimitives", "Transport", "COpenSSL"], swiftSettings: hotLoopFlags),
        .target(name: "Protocols", dependencies: ["OT", "CryptoPrimitives", "Transport", "RingArithmetic"], swiftSettings: hotLoopFlags),
        .target(name: "Benchmarks", dependencies: [
            "RingArithmetic", "CryptoPrimitives", "Transport", "OT", "Protocols", "LatticeHE", "LinearHE", "Compiler", "Engine",
            "Validation", "Datasets", "IR", "Reference",
        ], swiftSettings: hotLoopFlags),
        .target(name: "ValidateInspect", dependencies: [
            "Benchmarks",
            "CLISupport", "IR", "ONNX", "Reference", "Datasets", "RingArithmetic", "Transport", "CryptoPrimitives", "OT", "Protocols", "LinearHE", "Compiler", "Calibration", "Validation", "Engine", "Commitments",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Executables (thin).
        .target(name: "CLISupport"),
        .target(name: "ValidationCLI", dependencies: [
            "CLISupport", "Validation", "Commitments", "Compiler", "Calibration", "Datasets", "IR", "ONNX", "RingArithmetic", "Transport", "Ledger",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "validate-inspect", dependencies: ["ValidateInspect"]),
        .executableTarget(name: "validate-serve", dependencies: ["ValidationCLI"]),
        .executableTarget(name: "validate-client", dependencies: ["ValidationCLI"]),

        // Tests. TestSupport is shared by the test targets: repository paths, the seeded generator,
        // and `Transport.TwoPartyRunner` re-exported.
        .target(name: "TestSupport", dependencies: ["Transport"], path: "Tests/TestSupport"),
        .testTarget(name: "RingArithmeticTests", dependencies: ["TestSupport", "RingArithmetic"]),
        .testTarget(name: "IRTests", dependencies: ["IR"]),
        .testTarget(name: "ONNXTests", dependencies: ["TestSupport", "ONNX", "IR", "Datasets", "Preprocessing"]),
        .testTarget(name: "ReferenceTests", dependencies: ["Reference", "ONNX", "IR", "Datasets", "RingArithmetic"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Preprocessing"]),
        .testTarget(name: "ValidateInspectTests", dependencies: ["ValidateInspect", "Benchmarks", "RingArithmetic"]),
        .testTarget(name: "CryptoPrimitivesTests", dependencies: ["CryptoPrimitives"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "CryptoPrimitives", "Benchmarks"]),
        .testTarget(name: "CompilerTests", dependencies: ["TestSupport", "Compiler", "Calibration", "IR", "ONNX", "Reference", "Datasets", "RingArithmetic"]),
        .testTarget(name: "HEBackendTests", dependencies: ["TestSupport", "HEBackend", "Compiler", "LinearHE", "ONNX", "RingArithmetic"]),
        .testTarget(name: "EngineTests", dependencies: ["TestSupport", "Engine", "Compiler", "IR", "ONNX", "Reference", "Datasets", "Protocols", "OT", "Transport", "CryptoPrimitives", "RingArithmetic"]),
        .testTarget(name: "ValidationTests", dependencies: ["Preprocessing", "TestSupport", "Validation", "Commitments", "Compiler", "IR", "ONNX", "Reference", "Datasets", "RingArithmetic", "Transport"]),
        .testTarget(name: "ValidationCLITests", dependencies: ["ValidationCLI", "Ledger", "Validation", "Transport"]),
        .testTarget(name: "LatticeHETests", dependencies: ["LatticeHE", "CryptoPrimitives"]),
        .testTarget(name: "LinearHETests", dependencies: ["LinearHE", "LatticeHE", "Transport", "CryptoPrimitives", "RingArithmetic"]),
        .testTarget(name: "OTTests", dependencies: ["OT", "Transport", "CryptoPrimitives"]),
        .testTarget(name: "ProtocolsTests", dependencies: ["Protocols", "OT", "Transport", "CryptoPrimitives", "RingArithmetic", "Benchmarks"]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger"]),
    ]
)
