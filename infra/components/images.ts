import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';

/** The targets of the one multi-stage `containers/Dockerfile`. */
export const IMAGE_TARGETS = ['processing', 'training', 'inference', 'pipeline'] as const;
export type ImageTarget = (typeof IMAGE_TARGETS)[number];

export const DOCKERFILE = 'containers/Dockerfile';
export const IMAGE_PLATFORM = 'linux/amd64';
/** Untagged images (earlier digests) kept for rollbacks before the lifecycle policy expires them. */
export const UNTAGGED_IMAGES_KEPT = 10;

export interface ImagesArgs {
  /** ECR repository name for each image. */
  readonly repositoryName: (target: ImageTarget) => string;
}

export interface BuiltImage {
  readonly repository: aws.ecr.Repository;
  readonly lifecyclePolicy: aws.ecr.LifecyclePolicy;
  readonly image: awsx.ecr.Image;
  /** Digest-pinned (`repo@sha256:…`): what uses it changes only when the image content changes. */
  readonly imageUri: pulumi.Output<string>;
}

/**
 * One ECR repository per image (scan on push, encrypted, tags immutable except awsx's own stable
 * build tag) and the image built from the repository root for linux/amd64 and pushed to it.
 */
export class Images extends pulumi.ComponentResource {
  readonly images: Readonly<Record<ImageTarget, BuiltImage>>;

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:Images', name, {}, opts);
    const context = buildContext();
    const images = {} as Record<ImageTarget, BuiltImage>;
    for (const target of IMAGE_TARGETS) images[target] = this.buildImage(`${name}-${target}`, target, args.repositoryName(target), context);
    this.images = Object.freeze(images);
    this.registerOutputs(Object.fromEntries(IMAGE_TARGETS.map((target) => [`${target}ImageUri`, images[target].imageUri])));
  }

  private buildImage(name: string, target: ImageTarget, repositoryName: string, context: string): BuiltImage {
    const repository = new aws.ecr.Repository(
      name,
      {
        name: repositoryName,
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: 'AES256' }],
        // awsx pushes a stable `<hash>-container` tag on every build and pins consumers by digest;
        // every other tag is immutable.
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filter: '*-container', filterType: 'WILDCARD' }],
        // Images are rebuilt from source, so `pulumi destroy` may delete them with the repository.
        forceDelete: true,
      },
      { parent: this },
    );
    const lifecyclePolicy = new aws.ecr.LifecyclePolicy(
      name,
      { repository: repository.name, policy: JSON.stringify(untaggedImagesPolicy(UNTAGGED_IMAGES_KEPT)) },
      { parent: this },
    );
    const image = new awsx.ecr.Image(
      name,
      {
        repositoryUrl: repository.repositoryUrl,
        context,
        dockerfile: path.join(context, DOCKERFILE),
        target,
        platform: IMAGE_PLATFORM,
      },
      { parent: this },
    );
    return { repository, lifecyclePolicy, image, imageUri: image.imageUri };
  }
}

export function untaggedImagesPolicy(kept: number) {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Keep the ${kept} most recent untagged images (earlier digests) for rollbacks`,
        selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: kept },
        action: { type: 'expire' },
      },
    ],
  };
}

/**
 * The Docker build context: the repository root, relative to where Pulumi runs the program (the
 * project directory), so the build and awsx's tag do not depend on where the checkout lives.
 */
export function buildContext(cwd: string = process.cwd()): string {
  const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.relative(cwd, repositoryRoot) || '.';
}
