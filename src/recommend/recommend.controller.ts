import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { catalogueParamsSchema } from '../catalogue/catalogue.dto';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import { recommendRequestSchema, type RecommendRequest } from './recommend.dto';
import { RecommendService, type RecommendResponse } from './recommend.service';

@ApiTags('recommendations')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/catalogues')
export class RecommendController {
  constructor(private readonly service: RecommendService) {}

  @Post(':catalogue/recommendations')
  @HttpCode(200)
  async recommend(
    @Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string },
    @Body(new ZodValidationPipe(recommendRequestSchema, 'body')) body: RecommendRequest,
  ): Promise<RecommendResponse> {
    return this.service.recommend(params.catalogue, body);
  }
}
