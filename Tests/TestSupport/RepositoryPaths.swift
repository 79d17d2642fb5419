import Foundation

/// The repository's root folder (found from this file's own path), for tests that read the bundled
/// models, datasets and fixtures.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The absolute path of `relative` (e.g. "Models/mlp-breast-cancer.onnx") inside the repository.
public func path(_ relative: String) -> String { repositoryRoot.appendingPathComponent(relative).path }
